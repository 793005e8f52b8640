//! No seat without a place to keep it, against the real broker and the ORDS emulator
//! (customer 4 has 2 seats): an activation whose key store or data directory cannot
//! be used claims no seat, and one whose key or lease cannot be stored after the seat
//! was claimed frees that seat again. The seats are counted by another machine that
//! holds one.

use std::sync::Arc;
use std::time::Duration;

use license_client::{
    Code, ErrorKind, Fingerprint, KeyStore, KeyStoreError, LicenseClient, LicenseKeyText, Marks,
    MemoryKeyStore, Paths,
};
use license_testkit::Stack;

const APP: &str = "com.example.editor";

/// A key store that cannot be reached (a keyring that is not running), or one that
/// reads but refuses every write (a locked or read-only keyring).
struct Broken {
    reads: bool,
}

impl Broken {
    fn error(&self) -> KeyStoreError {
        KeyStoreError {
            store: self.describe(),
            reason: "the keyring is not running; is the keyring running and unlocked?".into(),
        }
    }
}

impl KeyStore for Broken {
    fn describe(&self) -> String {
        "test keyring".into()
    }
    fn get_key(&self) -> Result<Option<LicenseKeyText>, KeyStoreError> {
        match self.reads {
            true => Ok(None),
            false => Err(self.error()),
        }
    }
    fn set_key(&self, _: &LicenseKeyText) -> Result<(), KeyStoreError> {
        Err(self.error())
    }
    fn delete_key(&self) -> Result<(), KeyStoreError> {
        Err(self.error())
    }
    fn get_marks(&self) -> Result<Option<Marks>, KeyStoreError> {
        self.get_key().map(|_| None)
    }
    fn set_marks(&self, _: Marks) -> Result<(), KeyStoreError> {
        Err(self.error())
    }
}

struct Setup {
    stack: Stack,
    dir: tempfile::TempDir,
    key: String,
    /// The machine that holds one of the two seats and counts them.
    holder: LicenseClient,
}

async fn setup() -> Setup {
    let stack = Stack::start(&[]).await.expect("the stack starts");
    let dir = tempfile::tempdir().unwrap();
    let key = stack.issue_key("4").unwrap();
    let holder = client(
        &stack,
        "holder",
        Box::new(MemoryKeyStore::new()),
        Paths::in_dir(dir.path().join("holder")),
    );
    let verdict = holder.activate(&key).await.unwrap();
    assert_eq!(verdict.code, Code::Valid, "{verdict:?}");
    Setup {
        stack,
        dir,
        key,
        holder,
    }
}

fn client(stack: &Stack, machine: &str, store: Box<dyn KeyStore>, paths: Paths) -> LicenseClient {
    stack
        .client()
        .app_id(APP)
        .total_timeout(Duration::from_secs(5))
        .key_store(store)
        .paths(paths)
        .fingerprint(Fingerprint::from_machine_id(machine, APP))
        .build()
        .unwrap()
}

impl Setup {
    async fn seats_used(&self) -> u32 {
        let verdict = self.holder.machines().await.unwrap();
        verdict.machines.expect("a seat-limited license").used
    }

    fn on(&self, machine: &str, store: Box<dyn KeyStore>) -> LicenseClient {
        client(
            &self.stack,
            machine,
            store,
            Paths::in_dir(self.dir.path().join(machine)),
        )
    }
}

#[tokio::test]
async fn an_unreachable_key_store_claims_no_seat() {
    let setup = setup().await;
    assert_eq!(setup.seats_used().await, 1);
    let error = setup
        .on("laptop", Box::new(Broken { reads: false }))
        .activate(&setup.key)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::KeyStoreUnavailable, "{error}");
    let message = error.to_string();
    assert!(message.contains("no seat was claimed"), "{message}");
    assert!(message.contains("test keyring"), "{message}");
    assert!(!message.contains(&setup.key), "{message}");
    assert_eq!(setup.seats_used().await, 1, "the seat count did not move");
}

#[tokio::test]
async fn a_key_store_that_refuses_the_write_frees_the_seat_it_claimed() {
    let setup = setup().await;
    let error = setup
        .on("laptop", Box::new(Broken { reads: true }))
        .activate(&setup.key)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::KeyStoreUnavailable, "{error}");
    let message = error.to_string();
    assert!(message.contains("was freed again"), "{message}");
    assert!(!message.contains("?."), "{message}");
    assert_eq!(setup.seats_used().await, 1, "the claimed seat was freed");
}

#[tokio::test]
async fn a_data_directory_that_cannot_be_written_claims_no_seat() {
    let setup = setup().await;
    // A regular file where the data directory's parent should be: no directory can
    // be made there, whoever runs the test (root included).
    let blocker = setup.dir.path().join("blocker");
    std::fs::write(&blocker, b"a file").unwrap();
    let store = Arc::new(MemoryKeyStore::new());
    let client = client(
        &setup.stack,
        "laptop",
        Box::new(Arc::clone(&store)),
        Paths::in_dir(&blocker),
    );
    let error = client.activate(&setup.key).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CacheUnavailable, "{error}");
    assert!(error.to_string().contains("no seat was claimed"), "{error}");
    assert_eq!(store.get_key().unwrap(), None);
    assert_eq!(setup.seats_used().await, 1);
}

#[tokio::test]
async fn a_lease_that_cannot_be_written_frees_the_seat_and_keeps_no_key() {
    let setup = setup().await;
    let paths = Paths::in_dir(setup.dir.path().join("laptop"));
    // The directory is writable, but the lease's own name is taken by a directory.
    std::fs::create_dir_all(paths.cache_file()).unwrap();
    let store = Arc::new(MemoryKeyStore::new());
    let client = client(&setup.stack, "laptop", Box::new(Arc::clone(&store)), paths);
    let error = client.activate(&setup.key).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CacheUnavailable, "{error}");
    assert!(error.to_string().contains("was freed again"), "{error}");
    assert_eq!(
        store.get_key().unwrap(),
        None,
        "key and lease never disagree"
    );
    assert_eq!(setup.seats_used().await, 1);
    // With the directory fixed, the same machine gets its seat.
    std::fs::remove_dir(client.paths().cache_file()).unwrap();
    let verdict = client.activate(&setup.key).await.unwrap();
    assert_eq!(verdict.code, Code::Valid, "{verdict:?}");
    assert_eq!(setup.seats_used().await, 2);
}
