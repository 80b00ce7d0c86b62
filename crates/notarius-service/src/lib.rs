//! What `notarius-server` and `notarius-signer` share at their edges, written once: Go's flag
//! syntax (`-name value`, `-name=value`, one or two dashes), Notary's JSON config files (read,
//! `NOTARY_<PROGRAM>_<KEY>` overrides, paths relative to the file), the log level, the wait for
//! SIGINT/SIGTERM, and the accept loop that completes TLS before a connection is served.

pub mod config;
pub mod flags;
pub mod logging;
pub mod serve;
