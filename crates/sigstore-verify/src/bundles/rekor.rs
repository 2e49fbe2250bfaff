//! What Rekor v1 and v2 entries share: the RFC 6962 inclusion proof and the checkpoint, a
//! C2SP signed note under the log's key.

use sha2::{Digest as _, Sha256};

use super::bundle::{b64, int, Proof};
use super::pki::Key;

/// Proof hashes accepted: a tree of 2^64 leaves needs 64.
const MAX_PROOF_HASHES: usize = 64;
/// Checkpoint text accepted (a note holds a few lines and signatures).
const MAX_CHECKPOINT_BYTES: usize = 16 << 10;

type Hash = [u8; 32];

pub fn leaf_hash(body: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(body);
    h.finalize().into()
}

fn node(left: &[u8], right: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// RFC 9162 2.1.3.2: the root `proof` leads to from the leaf at `index` of a tree of `size`.
pub fn root_from_proof(index: u64, size: u64, leaf: Hash, proof: &[Hash]) -> Result<Hash, String> {
    if index >= size {
        return Err(format!(
            "the inclusion proof's index {index} is not below its tree size {size}"
        ));
    }
    let (mut f, mut s, mut r) = (index, size - 1, leaf);
    for p in proof {
        if s == 0 {
            return Err("the inclusion proof has more hashes than its tree needs".into());
        }
        if f & 1 == 1 || f == s {
            r = node(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err("the inclusion proof has fewer hashes than its tree needs".into());
    }
    Ok(r)
}

/// Checks `proof` for the entry `body` at `log_index`, and its checkpoint under `key`
/// (whose log ID is `log_id`).
pub fn check_inclusion(
    proof: &Proof,
    log_index: u64,
    body: &[u8],
    key: &Key,
    log_id: &[u8],
) -> Result<(), String> {
    let index = int(&proof.log_index, "inclusionProof.logIndex")?;
    if index != log_index {
        return Err(format!(
            "the inclusion proof is for index {index}, the entry is at {log_index}"
        ));
    }
    let size = int(&proof.tree_size, "inclusionProof.treeSize")?;
    if proof.hashes.len() > MAX_PROOF_HASHES {
        return Err(format!(
            "the inclusion proof has {} hashes, more than the limit of {MAX_PROOF_HASHES}",
            proof.hashes.len()
        ));
    }
    let hashes = proof
        .hashes
        .iter()
        .map(|h| {
            to_hash(
                &b64(h, "inclusionProof.hashes[]")?,
                "inclusionProof.hashes[]",
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let claimed = to_hash(
        &b64(&proof.root_hash, "inclusionProof.rootHash")?,
        "inclusionProof.rootHash",
    )?;
    let root = root_from_proof(index, size, leaf_hash(body), &hashes)?;
    if root != claimed {
        return Err("the inclusion proof does not lead to its root hash".into());
    }
    check_checkpoint(&proof.checkpoint.envelope, size, &root, key, log_id)
}

fn to_hash(bytes: &[u8], what: &str) -> Result<Hash, String> {
    Hash::try_from(bytes).map_err(|_| format!("{what} is not a SHA-256 hash"))
}

/// The note `<origin>\n<size>\n<b64 root>\n[extensions]\n\n— <name> <b64(hint‖sig)>\n…` must
/// name this tree and carry a signature by `key`, found by the 4-byte hint of its log ID.
fn check_checkpoint(
    note: &str,
    size: u64,
    root: &Hash,
    key: &Key,
    log_id: &[u8],
) -> Result<(), String> {
    if note.len() > MAX_CHECKPOINT_BYTES {
        return Err(format!(
            "the checkpoint is longer than {MAX_CHECKPOINT_BYTES} bytes"
        ));
    }
    let (text, signatures) = note
        .split_once("\n\n")
        .ok_or("the checkpoint is not a signed note")?;
    let signed = format!("{text}\n");
    let mut lines = text.split('\n');
    let _origin = lines
        .next()
        .filter(|o| !o.is_empty())
        .ok_or("the checkpoint has no origin")?;
    let note_size: u64 = lines
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("the checkpoint has no tree size")?;
    let note_root = lines
        .next()
        .ok_or("the checkpoint has no root hash")
        .map_err(str::to_string)
        .and_then(|r| b64(r, "the checkpoint's root hash"))?;
    if note_size != size || note_root.as_slice() != root.as_slice() {
        return Err(format!(
            "the checkpoint (tree size {note_size}) is not the tree of the inclusion proof (tree size {size})"
        ));
    }
    let hint = log_id.get(..4).ok_or("the log ID is too short")?;
    for line in signatures.lines() {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            continue;
        };
        let Some((_name, encoded)) = rest.rsplit_once(' ') else {
            continue;
        };
        let Ok(raw) = b64(encoded, "checkpoint signature") else {
            continue;
        };
        if let Some((line_hint, signature)) = raw.split_at_checked(4) {
            if line_hint == hint && key.verifies(signed.as_bytes(), signature) {
                return Ok(());
            }
        }
    }
    Err("the checkpoint carries no valid signature by the log's key".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u8) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&[i])).collect()
    }

    /// RFC 6962 2.1 MTH, written directly from the definition.
    fn mth(l: &[Hash]) -> Hash {
        if l.len() == 1 {
            return l[0];
        }
        let k = l.len().next_power_of_two() / 2;
        node(&mth(&l[..k]), &mth(&l[k..]))
    }

    fn path(m: usize, l: &[Hash]) -> Vec<Hash> {
        if l.len() == 1 {
            return vec![];
        }
        let k = l.len().next_power_of_two() / 2;
        if m < k {
            let mut p = path(m, &l[..k]);
            p.push(mth(&l[k..]));
            p
        } else {
            let mut p = path(m - k, &l[k..]);
            p.push(mth(&l[..k]));
            p
        }
    }

    #[test]
    fn every_leaf_of_every_small_tree_proves_and_a_wrong_leaf_does_not() {
        for n in 1..=17u8 {
            let l = leaves(n);
            let root = mth(&l);
            for m in 0..usize::from(n) {
                let p = path(m, &l);
                assert_eq!(root_from_proof(m as u64, n.into(), l[m], &p).unwrap(), root);
                assert_ne!(
                    root_from_proof(m as u64, n.into(), leaf_hash(b"x"), &p).unwrap(),
                    root
                );
            }
        }
        assert!(root_from_proof(7, 7, leaf_hash(b"x"), &[]).is_err());
        assert!(root_from_proof(0, 2, leaf_hash(b"x"), &[]).is_err());
    }
}
