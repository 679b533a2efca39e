//! Reading the database file, and re-reading it when it changes.
//!
//! The file is read into memory rather than memory-mapped. maxminddb's
//! `Reader::open_mmap` is `unsafe`: its contract is that the file is never
//! modified or truncated while mapped, and breaking it is undefined
//! behaviour (in practice SIGBUS, which takes down ingestion). That contract
//! would depend on every operator and script replacing the file with a
//! rename, while `cp`, `curl -o` and `wget -O` all rewrite in place. With
//! an in-memory copy an in-place rewrite is harmless: the half-written file
//! either fails to parse or is seen changing during the read, and the
//! previous database keeps serving until the next check. The cost is the
//! file's size in RSS (60–130 MB for the free city databases), twice that
//! for a moment during a reload.
//!
//! A file is re-read only when its modification time, size or inode
//! changed since the last load, or when forced (SIGHUP). Whatever goes
//! wrong, the previous database keeps serving.

use super::{Geo, Loaded, CACHED_NETWORKS};
use maxminddb::{MaxMindDbError, Reader};
use std::path::{Path, PathBuf};
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::SystemTime;
use tracing::info;

/// Why the database could not be (re)loaded. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    #[error("cannot read the geoip database {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a MaxMind DB (.mmdb) file: {source}", path.display())]
    Invalid {
        path: PathBuf,
        source: MaxMindDbError,
    },
    #[error("the geoip database {} changed while it was being read; it will be read again", path.display())]
    Changed { path: PathBuf },
}

impl Geo {
    /// Re-reads the file if its modification time, size or inode changed
    /// since the last load. On failure the previous database keeps serving
    /// and the error is returned. `Ok(false)` when nothing changed or no
    /// database is configured.
    pub fn reload_if_changed(&self) -> Result<bool, GeoError> {
        let Some(path) = &self.path else {
            return Ok(false);
        };
        let mut seen = self.lock_seen();
        if *seen == Some(Stamp::of(path)?) {
            return Ok(false);
        }
        self.load_into(path, &mut seen).map(|()| true)
    }

    /// Re-reads the file unconditionally (SIGHUP). On failure the previous
    /// database keeps serving.
    pub fn reload(&self) -> Result<(), GeoError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut seen = self.lock_seen();
        self.load_into(path, &mut seen)
    }

    /// Reads, parses and installs the file. The stamp is recorded for a
    /// parse failure too: the same bytes would fail again, so they are not
    /// re-read every tick. Read errors and files caught mid-write are not
    /// recorded, so the next check retries them.
    fn load_into(&self, path: &Path, seen: &mut Option<Stamp>) -> Result<(), GeoError> {
        let (bytes, stamp) = read_stable(path)?;
        *seen = Some(stamp);
        let reader = Reader::from_source(bytes).map_err(|source| GeoError::Invalid {
            path: path.to_owned(),
            source,
        })?;
        let metadata = reader.metadata();
        info!(
            path = %path.display(),
            database_type = %metadata.database_type,
            build_epoch = metadata.build_epoch,
            "geoip database loaded"
        );
        let cache = quick_cache::sync::Cache::new(CACHED_NETWORKS);
        self.current.store(Some(Arc::new(Loaded { reader, cache })));
        Ok(())
    }

    /// A panic elsewhere while holding the lock leaves only a stamp behind,
    /// which is still meaningful, so poisoning is ignored.
    fn lock_seen(&self) -> MutexGuard<'_, Option<Stamp>> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What identifies one version of the file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    /// Device and inode: a rename brings a new inode even when the new file
    /// has the same size and a preserved modification time.
    inode: (u64, u64),
}

impl Stamp {
    fn of(path: &Path) -> Result<Self, GeoError> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).map_err(|source| read_error(path, source))?;
        Ok(Self {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode: (meta.dev(), meta.ino()),
        })
    }
}

/// The file's bytes and the version they belong to; an error if the file
/// changed while being read (an in-place rewrite in progress).
fn read_stable(path: &Path) -> Result<(Vec<u8>, Stamp), GeoError> {
    let before = Stamp::of(path)?;
    let bytes = std::fs::read(path).map_err(|source| read_error(path, source))?;
    if Stamp::of(path)? != before || bytes.len() as u64 != before.len {
        return Err(GeoError::Changed {
            path: path.to_owned(),
        });
    }
    Ok((bytes, before))
}

fn read_error(path: &Path, source: std::io::Error) -> GeoError {
    GeoError::Read {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::geo::fixture::{self, ip, loc, london_db};
    use crate::enrich::geo::Location;

    #[test]
    fn open_fails_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.mmdb");
        std::fs::write(&garbage, b"this is not a maxmind database").unwrap();
        let err = Geo::open(&garbage).unwrap_err();
        assert!(matches!(err, GeoError::Invalid { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&garbage.display().to_string()),
            "{err}"
        );

        let missing = dir.path().join("missing.mmdb");
        let err = Geo::open(&missing).unwrap_err();
        assert!(matches!(err, GeoError::Read { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&missing.display().to_string()),
            "{err}"
        );

        let err = Geo::open(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains(&dir.path().display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn reload_picks_up_a_renamed_replacement() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("city.mmdb");
        london_db(&path);
        let geo = Geo::open(&path).unwrap();
        assert!(!geo.reload_if_changed().unwrap(), "unchanged file");

        fixture::geoip2(
            &path,
            "GeoLite2-City",
            &[("81.2.69.0/24", "IE", Some("D"), Some("Dublin"))],
        );
        assert!(geo.reload_if_changed().unwrap());
        assert_eq!(geo.lookup(ip("81.2.69.0")), loc("IE", "IE-D", "Dublin"));
        assert_eq!(geo.lookup(ip("203.0.113.0")), Location::default());
        assert!(!geo.reload_if_changed().unwrap());
    }

    #[test]
    fn garbage_replacement_keeps_the_old_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("city.mmdb");
        london_db(&path);
        let geo = Geo::open(&path).unwrap();

        let temp = dir.path().join("new.tmp");
        std::fs::write(&temp, vec![0xab; 4096]).unwrap();
        std::fs::rename(&temp, &path).unwrap();
        let err = geo.reload_if_changed().unwrap_err();
        assert!(matches!(err, GeoError::Invalid { .. }), "{err:?}");
        assert_eq!(geo.lookup(ip("81.2.69.0")), loc("GB", "GB-ENG", "London"));
        // Not re-read until it changes again, or a forced reload.
        assert!(!geo.reload_if_changed().unwrap());
        assert!(geo.reload().is_err());

        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            geo.reload_if_changed(),
            Err(GeoError::Read { .. })
        ));
        assert_eq!(geo.lookup(ip("81.2.69.0")), loc("GB", "GB-ENG", "London"));

        london_db(&path);
        assert!(geo.reload_if_changed().unwrap());
    }
}
