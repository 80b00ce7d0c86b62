//! Where passphrases come from. The CLI adds a terminal prompt; here are the rules Notary applies
//! to environment variables and the retry limits, with every passphrase wiped after use.

use notarius_tuf::role;
use zeroize::Zeroizing;

/// A passphrase, wiped on drop.
pub type Passphrase = Zeroizing<String>;

/// Why no passphrase was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GiveUp {
    #[error("Too many attempts")]
    TooManyAttempts,
    #[error(
        "Please either use environment variables or STDIN with a terminal to provide key passphrases"
    )]
    NoInput,
    #[error("{0}")]
    Other(String),
}

/// Notary's `PassRetriever`: asked for the passphrase of key `key_name` (alias = role),
/// `create_new` when choosing one for a new key, `attempt` counting from 0.
pub trait PassphraseRetriever {
    fn passphrase(
        &mut self,
        key_name: &str,
        alias: &str,
        create_new: bool,
        attempt: u32,
    ) -> Result<Passphrase, GiveUp>;
}

/// Always the same passphrase (tests, and `--passphrase-file`-style automation).
pub struct ConstantRetriever(pub Passphrase);

impl PassphraseRetriever for ConstantRetriever {
    fn passphrase(&mut self, _: &str, _: &str, _: bool, _: u32) -> Result<Passphrase, GiveUp> {
        Ok(self.0.clone())
    }
}

/// The passphrase environment variables of `notary` and of Docker for a given alias, in the
/// order they are consulted. `lookup` reads the environment (injected for tests).
pub fn env_passphrase(alias: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Option<Passphrase> {
    let get = |name: &str| lookup(name).filter(|v| !v.is_empty()).map(Zeroizing::new);
    let own = match alias {
        role::ROOT => get("NOTARY_ROOT_PASSPHRASE")
            .or_else(|| get("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE"))
            .or_else(|| get("DOCKER_CONTENT_TRUST_OFFLINE_PASSPHRASE")),
        role::TARGETS => get("NOTARY_TARGETS_PASSPHRASE"),
        role::SNAPSHOT => get("NOTARY_SNAPSHOT_PASSPHRASE"),
        "delegation" => get("NOTARY_DELEGATION_PASSPHRASE"),
        _ => None,
    };
    if own.is_some() {
        return own;
    }
    // Notary: any alias that is not a base role may use the delegation passphrase.
    if !role::is_base_role(alias)
        && let Some(p) = get("NOTARY_DELEGATION_PASSPHRASE")
    {
        return Some(p);
    }
    // Docker's "repository" passphrase covers targets, snapshot and delegations.
    if alias != role::ROOT {
        return get("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE")
            .or_else(|| get("DOCKER_CONTENT_TRUST_TAGGING_PASSPHRASE"));
    }
    None
}

/// Reads one environment variable (injected so tests need not touch the process environment).
pub type EnvLookup = Box<dyn Fn(&str) -> Option<String>>;

/// Environment variables first, then `fallback` (a prompt, or nothing). An environment
/// passphrase is offered twice and then abandoned, as Notary does.
pub struct EnvRetriever<F: PassphraseRetriever> {
    lookup: EnvLookup,
    pub fallback: Option<F>,
}

impl<F: PassphraseRetriever> EnvRetriever<F> {
    pub fn new(lookup: EnvLookup, fallback: Option<F>) -> Self {
        EnvRetriever { lookup, fallback }
    }

    /// Reads the process environment.
    pub fn from_process_env(fallback: Option<F>) -> Self {
        EnvRetriever::new(Box::new(|k| std::env::var(k).ok()), fallback)
    }
}

impl<F: PassphraseRetriever> PassphraseRetriever for EnvRetriever<F> {
    fn passphrase(
        &mut self,
        key_name: &str,
        alias: &str,
        create_new: bool,
        attempt: u32,
    ) -> Result<Passphrase, GiveUp> {
        if let Some(p) = env_passphrase(alias, &*self.lookup) {
            return if attempt > 1 {
                Err(GiveUp::TooManyAttempts)
            } else {
                Ok(p)
            };
        }
        match &mut self.fallback {
            Some(f) => f.passphrase(key_name, alias, create_new, attempt),
            None => Err(GiveUp::NoInput),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn notary_and_docker_variables() {
        let e = env(&[
            ("NOTARY_ROOT_PASSPHRASE", "r"),
            ("NOTARY_DELEGATION_PASSPHRASE", "d"),
            ("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "repo"),
        ]);
        assert_eq!(env_passphrase("root", &e).unwrap().as_str(), "r");
        assert_eq!(
            env_passphrase("targets/releases", &e).unwrap().as_str(),
            "d"
        );
        assert_eq!(env_passphrase("targets", &e).unwrap().as_str(), "repo");
        let docker = env(&[("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", "dr")]);
        assert_eq!(env_passphrase("root", &docker).unwrap().as_str(), "dr");
        assert!(env_passphrase("targets", &docker).is_none());
        assert!(env_passphrase("root", &env(&[("NOTARY_ROOT_PASSPHRASE", "")])).is_none());
    }

    #[test]
    fn env_passphrase_is_given_up_after_two_tries() {
        let mut r: EnvRetriever<ConstantRetriever> =
            EnvRetriever::new(Box::new(env(&[("NOTARY_TARGETS_PASSPHRASE", "t")])), None);
        assert!(r.passphrase("k", "targets", false, 0).is_ok());
        assert!(r.passphrase("k", "targets", false, 1).is_ok());
        assert_eq!(
            r.passphrase("k", "targets", false, 2),
            Err(GiveUp::TooManyAttempts)
        );
        assert_eq!(r.passphrase("k", "root", false, 0), Err(GiveUp::NoInput));
    }
}
