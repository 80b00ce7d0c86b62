//! Keeps decrypted keys out of core dumps and away from same-user debuggers: the process is
//! made non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`, through rustix's safe wrapper), as
//! notary-signer does unless `-debug` is given.

/// Marks this process non-dumpable: no core dumps, `/proc/<pid>/mem` and ptrace attach refused
/// to other processes of the same user.
pub fn non_dumpable() -> std::io::Result<()> {
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .map_err(std::io::Error::from)
}

/// Whether the process is dumpable now.
pub fn is_dumpable() -> std::io::Result<bool> {
    Ok(
        rustix::process::dumpable_behavior().map_err(std::io::Error::from)?
            != rustix::process::DumpableBehavior::NotDumpable,
    )
}
