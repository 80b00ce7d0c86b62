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

/// The alias under which a hardware token's PIN is asked for (Notary's, with the key names
/// `User Pin` and `SO Pin`).
pub const TOKEN_PIN_ALIAS: &str = "yubikey";

/// Where a token PIN can come from in the environment. Notary has none (its retriever would hand
/// the token `NOTARY_DELEGATION_PASSPHRASE`, spending a PIN try on a passphrase).
pub const TOKEN_PIN_ENV: &str = "NOTARIUS_PKCS11_PIN";

/// The passphrase environment variables of `notary` and of Docker for a given alias, in the
/// order they are consulted. `lookup` reads the environment (injected for tests).
pub fn env_passphrase(alias: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Option<Passphrase> {
    env_passphrase_named(alias, lookup).map(|(_, p)| p)
}

/// As [`env_passphrase`], with the name of the variable it came from (for messages).
pub fn env_passphrase_named(
    alias: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Option<(&'static str, Passphrase)> {
    let get = |name: &'static str| {
        lookup(name)
            .filter(|v| !v.is_empty())
            .map(|v| (name, Zeroizing::new(v)))
    };
    if alias == TOKEN_PIN_ALIAS {
        return get(TOKEN_PIN_ENV);
    }
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

/// The shortest passphrase Notary's prompt accepts for a new key.
pub const MIN_PASSPHRASE_LEN: usize = 8;

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
    fn own_role_variables_win_and_deprecated_docker_ones_still_count() {
        let all = env(&[
            ("NOTARY_TARGETS_PASSPHRASE", "nt"),
            ("NOTARY_SNAPSHOT_PASSPHRASE", "ns"),
            ("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "repo"),
        ]);
        assert_eq!(env_passphrase("targets", &all).unwrap().as_str(), "nt");
        assert_eq!(env_passphrase("snapshot", &all).unwrap().as_str(), "ns");
        // Docker's repository passphrase covers every non-root alias, timestamp included.
        assert_eq!(env_passphrase("timestamp", &all).unwrap().as_str(), "repo");
        assert_eq!(env_passphrase("targets/x", &all).unwrap().as_str(), "repo");
        assert!(env_passphrase("root", &all).is_none(), "never for root");
        let old = env(&[
            ("DOCKER_CONTENT_TRUST_OFFLINE_PASSPHRASE", "off"),
            ("DOCKER_CONTENT_TRUST_TAGGING_PASSPHRASE", "tag"),
        ]);
        assert_eq!(env_passphrase("root", &old).unwrap().as_str(), "off");
        assert_eq!(env_passphrase("targets", &old).unwrap().as_str(), "tag");
        // The delegation passphrase is for non-base roles only, and for the `delegation` alias.
        let d = env(&[("NOTARY_DELEGATION_PASSPHRASE", "d")]);
        assert_eq!(env_passphrase("delegation", &d).unwrap().as_str(), "d");
        assert_eq!(env_passphrase("user", &d).unwrap().as_str(), "d");
        for base in ["root", "targets", "snapshot", "timestamp"] {
            assert!(env_passphrase(base, &d).is_none(), "{base}");
        }
    }

    #[test]
    fn token_pin_comes_only_from_its_own_variable() {
        let both = env(&[
            ("NOTARY_DELEGATION_PASSPHRASE", "d"),
            ("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "r"),
        ]);
        assert!(env_passphrase(TOKEN_PIN_ALIAS, &both).is_none());
        let pin = env(&[
            ("NOTARY_DELEGATION_PASSPHRASE", "d"),
            (TOKEN_PIN_ENV, "1234"),
        ]);
        assert_eq!(
            env_passphrase(TOKEN_PIN_ALIAS, &pin)
                .as_deref()
                .map(String::as_str),
            Some("1234")
        );
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

/// Where an interactive prompt reads and writes (a terminal in the CLI; a script in tests).
pub trait Terminal {
    /// Shows `prompt` and reads one line without echo; `None` when there is no terminal.
    fn read_hidden(&mut self, prompt: &str) -> Option<String>;
    /// Shows a line of text.
    fn say(&mut self, line: &str);
}

const ROOT_KEY_WARNING: &str =
    "You are about to create a new root signing key passphrase. This passphrase
will be used to protect the most sensitive key in your signing system. Please
choose a long, complex passphrase and be careful to keep the password and the
key file itself secure and backed up. It is highly recommended that you use a
password manager to generate the passphrase and keep it safe. There will be no
way to recover this key. You can find the key in your config directory.";

/// Notary's interactive retriever (`passphrase.PromptRetriever`): its prompts, at least eight
/// characters and a confirmation for new keys, three tries for existing ones, and one answer per
/// role remembered for the rest of the command.
pub struct PromptRetriever<T: Terminal> {
    term: T,
    cache: std::collections::HashMap<String, Passphrase>,
}

impl<T: Terminal> PromptRetriever<T> {
    pub fn new(term: T) -> Self {
        PromptRetriever {
            term,
            cache: Default::default(),
        }
    }
}

impl<T: Terminal> PassphraseRetriever for PromptRetriever<T> {
    fn passphrase(
        &mut self,
        key_name: &str,
        alias: &str,
        create_new: bool,
        attempt: u32,
    ) -> Result<Passphrase, GiveUp> {
        if attempt == 0 {
            if alias == role::ROOT && create_new {
                self.term.say(ROOT_KEY_WARNING);
            }
            if let Some(p) = self.cache.get(alias) {
                return Ok(p.clone());
            }
        } else if !create_new {
            if attempt > 3 {
                return Err(GiveUp::TooManyAttempts);
            }
            self.term.say("Passphrase incorrect. Please retry.");
        }
        let with_id = if key_name.len() > 7 {
            format!(" with ID {}", &key_name[..7])
        } else {
            String::new()
        };
        let prompt = if create_new {
            format!("Enter passphrase for new {alias} key{with_id}: ")
        } else if alias == TOKEN_PIN_ALIAS {
            format!("Enter the {key_name} for the attached Yubikey: ")
        } else {
            format!("Enter passphrase for {alias} key{with_id}: ")
        };
        let pass = Zeroizing::new(
            self.term
                .read_hidden(&prompt)
                .ok_or(GiveUp::NoInput)?
                .trim()
                .to_owned(),
        );
        if create_new {
            if pass.len() < MIN_PASSPHRASE_LEN {
                self.term.say("Passphrase is too short. Please use a password manager to generate and store a good random passphrase.");
                return Err(GiveUp::Other("passphrase is too short".into()));
            }
            let again = Zeroizing::new(
                self.term
                    .read_hidden(&format!("Repeat passphrase for new {alias} key{with_id}: "))
                    .ok_or(GiveUp::NoInput)?
                    .trim()
                    .to_owned(),
            );
            if *again != *pass {
                self.term.say("Passphrases do not match. Please retry.");
                return Err(GiveUp::Other("passphrases do not match".into()));
            }
        }
        self.cache.insert(alias.to_owned(), pass.clone());
        Ok(pass)
    }
}

#[cfg(test)]
mod prompt_tests {
    use super::*;

    struct Script {
        answers: Vec<&'static str>,
        shown: Vec<String>,
    }

    impl Terminal for Script {
        fn read_hidden(&mut self, prompt: &str) -> Option<String> {
            self.shown.push(prompt.to_owned());
            if self.answers.is_empty() {
                None
            } else {
                Some(self.answers.remove(0).to_owned())
            }
        }
        fn say(&mut self, line: &str) {
            self.shown.push(line.to_owned());
        }
    }

    #[test]
    fn new_keys_need_eight_characters_twice() {
        let mut r = PromptRetriever::new(Script {
            answers: vec![
                "short",
                "longenough",
                "different1",
                "longenough",
                "longenough",
            ],
            shown: vec![],
        });
        assert!(
            r.passphrase("0123456789abcdef", "targets", true, 0)
                .is_err()
        );
        assert!(
            r.passphrase("0123456789abcdef", "targets", true, 1)
                .is_err()
        );
        assert_eq!(
            r.passphrase("0123456789abcdef", "targets", true, 2)
                .unwrap()
                .as_str(),
            "longenough"
        );
        // Cached per role for the rest of the command.
        assert_eq!(
            r.passphrase("fedcba9876543210", "targets", false, 0)
                .unwrap()
                .as_str(),
            "longenough"
        );
        let shown = &r.term.shown;
        assert_eq!(
            shown[0],
            "Enter passphrase for new targets key with ID 0123456: "
        );
        assert!(shown.contains(&"Passphrase is too short. Please use a password manager to generate and store a good random passphrase.".to_owned()));
        assert!(shown.contains(&"Passphrases do not match. Please retry.".to_owned()));
        assert!(
            shown.contains(&"Repeat passphrase for new targets key with ID 0123456: ".to_owned())
        );
    }

    #[test]
    fn existing_keys_get_three_retries_and_no_terminal_is_said() {
        let mut r = PromptRetriever::new(Script {
            answers: vec!["a", "b", "c", "d", "e"],
            shown: vec![],
        });
        for attempt in 0..=3 {
            assert!(
                r.passphrase("0123456789abcdef", "root", false, attempt)
                    .is_ok()
            );
        }
        assert_eq!(
            r.passphrase("0123456789abcdef", "root", false, 4),
            Err(GiveUp::TooManyAttempts)
        );
        assert!(
            r.term
                .shown
                .contains(&"Passphrase incorrect. Please retry.".to_owned())
        );
        let mut none = PromptRetriever::new(Script {
            answers: vec![],
            shown: vec![],
        });
        assert_eq!(
            none.passphrase("0123456789abcdef", "root", true, 0),
            Err(GiveUp::NoInput)
        );
        assert!(
            none.term.shown[0]
                .starts_with("You are about to create a new root signing key passphrase.")
        );
    }
}
