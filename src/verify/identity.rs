//! Keyless identities against a signing certificate, as cosign's `CheckCertificatePolicy`:
//! identities are OR-ed; within one, the issuer must match the Fulcio issuer extension and the
//! subject must match one of the subject alternative names. Exact values compare equal;
//! regular expressions are Go RE2, unanchored.

use super::certificate::CertIdentity;
use crate::cip::compile::CompiledIdentity;

/// The (issuer, subject) pair of `cert` that `identity` accepts, if any: what the host is then
/// asked to verify exactly.
pub fn matching_pair(identity: &CompiledIdentity, cert: &CertIdentity) -> Option<(String, String)> {
    let issuer = cert.issuer.as_deref().unwrap_or("");
    if !identity.issuer.matches(issuer) {
        return None;
    }
    cert.sans
        .iter()
        .find(|san| identity.subject.matches(san))
        .map(|san| (issuer.to_string(), san.clone()))
}

/// cosign's text for a certificate no identity accepts.
pub fn mismatch(cert: &CertIdentity) -> String {
    format!(
        "none of the expected identities matched what was in the certificate, got subjects [{}] with issuer {}",
        cert.sans.join(", "),
        cert.issuer.as_deref().unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cip::compile::Matcher;
    use crate::cip::regex_compat::compile;
    use rstest::rstest;

    fn exact(s: &str) -> Matcher {
        Matcher::Exact(s.to_string())
    }

    fn re(s: &str) -> Matcher {
        Matcher::Regex(compile(s).unwrap())
    }

    fn cert(sans: &[&str], issuer: Option<&str>) -> CertIdentity {
        CertIdentity {
            sans: sans.iter().map(|s| s.to_string()).collect(),
            issuer: issuer.map(str::to_string),
        }
    }

    const GOOGLE: &str = "https://accounts.google.com";
    const GITHUB: &str = "https://token.actions.githubusercontent.com";
    const WORKFLOW: &str = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1";

    #[rstest]
    #[case::exact_exact_match(exact(GOOGLE), exact("me@example.com"), cert(&["me@example.com"], Some(GOOGLE)), Some("me@example.com"))]
    #[case::exact_wrong_subject(exact(GOOGLE), exact("you@example.com"), cert(&["me@example.com"], Some(GOOGLE)), None)]
    #[case::exact_wrong_issuer(exact(GITHUB), exact("me@example.com"), cert(&["me@example.com"], Some(GOOGLE)), None)]
    #[case::exact_second_san(exact(GOOGLE), exact("b@example.com"), cert(&["a@example.com", "b@example.com"], Some(GOOGLE)), Some("b@example.com"))]
    #[case::regex_subject(exact(GITHUB), re("^https://github.com/acme/.*$"), cert(&[WORKFLOW], Some(GITHUB)), Some(WORKFLOW))]
    #[case::regex_subject_unanchored_matches_inside(exact(GITHUB), re("acme/app"), cert(&[WORKFLOW], Some(GITHUB)), Some(WORKFLOW))]
    #[case::regex_subject_anchored_near_miss(exact(GITHUB), re("^https://github.com/acme/app$"), cert(&[WORKFLOW], Some(GITHUB)), None)]
    #[case::regex_issuer(re("^https://token\\.actions\\."), exact(WORKFLOW), cert(&[WORKFLOW], Some(GITHUB)), Some(WORKFLOW))]
    #[case::regex_both(re("google"), re("@example\\.com$"), cert(&["x@example.com"], Some(GOOGLE)), Some("x@example.com"))]
    #[case::regex_issuer_no_match(re("^https://gitlab"), re(".*"), cert(&["x@example.com"], Some(GOOGLE)), None)]
    #[case::missing_issuer_extension(exact(GOOGLE), exact("x@example.com"), cert(&["x@example.com"], None), None)]
    #[case::missing_issuer_regex_empty_ok(re(".*"), exact("x@example.com"), cert(&["x@example.com"], None), Some("x@example.com"))]
    #[case::no_sans(exact(GOOGLE), re(".*"), cert(&[], Some(GOOGLE)), None)]
    #[case::uri_and_email_sans(exact(GOOGLE), exact("spiffe://cluster/ns/a"), cert(&["x@example.com", "spiffe://cluster/ns/a"], Some(GOOGLE)), Some("spiffe://cluster/ns/a"))]
    fn identity_matching(
        #[case] issuer: Matcher,
        #[case] subject: Matcher,
        #[case] cert: CertIdentity,
        #[case] expected_subject: Option<&str>,
    ) {
        let identity = CompiledIdentity { issuer, subject };
        assert_eq!(
            matching_pair(&identity, &cert).map(|(_, s)| s),
            expected_subject.map(str::to_string)
        );
    }

    #[test]
    fn mismatch_text() {
        assert_eq!(
            mismatch(&cert(&["a@x.com", "b@x.com"], Some(GOOGLE))),
            "none of the expected identities matched what was in the certificate, got subjects [a@x.com, b@x.com] with issuer https://accounts.google.com"
        );
    }
}
