//! Registries that stall, trickle or never stop: each read ends with an error naming the
//! registry and the deadline or cap, in seconds and without buffering the flood. The fake
//! registry is a thread speaking just enough HTTP/1.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use cip_host::capabilities::oci::{Registry, Sources};
use cip_host::RegistryTimeouts;
use common::*;
use oci_client::manifest::OciDescriptor;
use oci_client::Reference;

/// What the fake registry does after reading a request.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Headers, then one body byte every 200 ms, forever.
    Trickle,
    /// Headers, then nothing, forever.
    Stall,
    /// Headers, then 64 KiB body chunks as fast as the client reads them, forever.
    Endless,
}

/// Serves every connection with `behaviour`; returns `127.0.0.1:<port>`.
fn fake_registry(behaviour: Behaviour) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream, behaviour));
        }
    });
    addr
}

fn serve(stream: TcpStream, behaviour: Behaviour) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\n";
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut line = String::new();
        while line != "\r\n" {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
        }
        // a HEAD answer without a digest header: the client falls back to GET
        if !request_line.starts_with("HEAD ") {
            break;
        }
        if out
            .write_all(format!("{head}Content-Length: 0\r\n\r\n").as_bytes())
            .is_err()
        {
            return;
        }
    }
    if out
        .write_all(format!("{head}Transfer-Encoding: chunked\r\n\r\n").as_bytes())
        .is_err()
    {
        return;
    }
    // stops when the client hangs up
    match behaviour {
        Behaviour::Trickle => {
            while out.write_all(b"1\r\n \r\n").is_ok() {
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        Behaviour::Stall => {
            let mut byte = [0u8; 1];
            let _ = std::io::Read::read(&mut reader, &mut byte);
        }
        Behaviour::Endless => {
            let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
            while out.write_all(chunk.as_bytes()).is_ok() {}
        }
    }
}

fn sources(addr: &str) -> Sources {
    Sources {
        insecure_sources: vec![addr.to_string()],
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// Far above the deadlines under test: only a hang fails it.
const HANG: Duration = Duration::from_secs(60);

#[test]
fn a_trickling_registry_meets_the_total_deadline() {
    let addr = fake_registry(Behaviour::Trickle);
    let rt = runtime();
    let registry = Registry::with_timeouts(
        &sources(&addr),
        rt.handle().clone(),
        RegistryTimeouts::with_total(Duration::from_secs(2)),
    )
    .unwrap();
    let start = Instant::now();
    let err = registry.manifest(&format!("{addr}/app:1")).unwrap_err();
    assert_eq!(
        err,
        format!("registry {addr}: no complete answer within 2 s (registry timeout)")
    );
    assert!(start.elapsed() < HANG);
}

#[test]
fn a_stalled_registry_meets_the_read_deadline() {
    let addr = fake_registry(Behaviour::Stall);
    let rt = runtime();
    let timeouts = RegistryTimeouts {
        connect: Duration::from_secs(1),
        read: Duration::from_secs(1),
        total: Duration::from_secs(30),
    };
    let registry = Registry::with_timeouts(&sources(&addr), rt.handle().clone(), timeouts).unwrap();
    let start = Instant::now();
    let err = registry.manifest(&format!("{addr}/app:1")).unwrap_err();
    assert_eq!(
        err,
        format!("registry {addr}: no data for 1 s (read timeout)")
    );
    assert!(start.elapsed() < HANG);
}

#[test]
fn an_endless_manifest_stops_at_the_cap() {
    let addr = fake_registry(Behaviour::Endless);
    let rt = runtime();
    let registry = Registry::new(&sources(&addr), rt.handle().clone()).unwrap();
    let image = format!("{addr}/app:1");
    let want = format!("registry {addr}: manifest larger than 4 MiB");
    assert_eq!(registry.manifest(&image).unwrap_err(), want);
    assert_eq!(registry.manifest_and_config(&image).unwrap_err(), want);
    // the digest lookup falls back to the manifest when HEAD brings no digest header
    assert_eq!(registry.manifest_digest(&image).unwrap_err(), want);
    let reference: Reference = image.parse().unwrap();
    let digest = format!("sha256:{}", "a".repeat(64));
    assert_eq!(
        registry
            .cosign_manifest(&reference, &digest, "att")
            .unwrap_err(),
        format!(
            "cannot read the attestation manifest {addr}/app:sha256-{}.att: {want}",
            "a".repeat(64)
        )
    );
}

#[test]
fn an_endless_blob_stops_at_the_cap() {
    let addr = fake_registry(Behaviour::Endless);
    let rt = runtime();
    let registry = Registry::new(&sources(&addr), rt.handle().clone()).unwrap();
    let reference: Reference = format!("{addr}/app:1").parse().unwrap();
    let digest = format!("sha256:{}", "b".repeat(64));
    let descriptor = OciDescriptor {
        digest: digest.clone(),
        size: 100,
        ..OciDescriptor::default()
    };
    assert_eq!(
        registry
            .pull_blob_bounded(&reference, &descriptor, 16 << 20)
            .unwrap_err(),
        format!("cannot read the blob {digest}: registry {addr}: blob {digest} larger than 16 MiB")
    );
}

/// `cip-host run` with a guest that asks for the manifest: the slow registry's error is the
/// denial's reason, well before the guest's own deadline.
#[test]
fn run_denies_naming_the_slow_registry() {
    let addr = fake_registry(Behaviour::Trickle);
    let dir = scratch("hostile-run");
    let image = format!("{addr}/app:1");
    let payload = serde_json::to_string(&image).unwrap();
    let wasm = write_guest(
        &dir,
        VALID,
        Validate::HostCall {
            namespace: "oci",
            operation: "v1/oci_manifest",
            payload: &payload,
        },
    );
    let sources = write(
        &dir,
        "sources.yml",
        &format!("insecure_sources: [\"{addr}\"]\n"),
    );
    let request = write(&dir, "req.json", REQUEST);
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_cip-host"))
        .args([
            "run",
            "-r",
            request.to_str().unwrap(),
            "--sources-path",
            sources.to_str().unwrap(),
            "--registry-timeout-seconds",
            "2",
            wasm.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(start.elapsed() < HANG);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"allowed\":false"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "registry {addr}: no complete answer within 2 s (registry timeout)"
        )),
        "{stdout}"
    );
}
