//! Image references as Docker reads them (distribution/reference's `ParseNormalizedNamed`):
//! `alpine` is `docker.io/library/alpine`, a first component with a `.` or `:` (or
//! `localhost`) is a registry host, names are lowercase, a tag is `[\w][\w.-]{0,127}` and a
//! digest `algorithm:hex`. The GUN of a trusted image is its full normalized name.

/// Docker Hub's canonical registry name.
pub const DOCKER_HUB: &str = "docker.io";

/// A parsed, normalized image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The registry host (`docker.io`, `registry.example.com:5000`).
    pub domain: String,
    /// The repository path within it (`library/alpine`, `team/app`).
    pub path: String,
    pub tag: Option<String>,
    /// `sha256:<hex>`.
    pub digest: Option<String>,
}

/// Why a reference does not parse, in distribution/reference's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format")]
    Format,
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    Uppercase(String),
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexName(String),
    #[error("repository name must not be more than 255 characters")]
    TooLong,
}

fn is_alnum_lower(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !is_alnum_lower(b[0]) || !is_alnum_lower(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum_lower(b[i]) {
            i += 1;
            continue;
        }
        // A separator: `.`, `_`, `__`, or a run of `-`.
        let start = i;
        if b[i] == b'-' {
            while i < b.len() && b[i] == b'-' {
                i += 1;
            }
        } else if b[i] == b'_' && b.get(i + 1) == Some(&b'_') {
            i += 2;
        } else if b[i] == b'.' || b[i] == b'_' {
            i += 1;
        } else {
            return false;
        }
        if i == start || i >= b.len() || !is_alnum_lower(b[i]) {
            return false;
        }
    }
    true
}

/// `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`, dot separated, an optional `:port`
/// (or a bracketed IPv6 address).
fn is_domain(s: &str) -> bool {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after.strip_prefix(':') {
            Some(p) => (None, Some(p)),
            None if after.is_empty() => (None, None),
            None => return false,
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(s), None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    host.is_none_or(|h| {
        !h.is_empty()
            && h.split('.').all(|c| {
                let b = c.as_bytes();
                !b.is_empty()
                    && b[0].is_ascii_alphanumeric()
                    && b[b.len() - 1].is_ascii_alphanumeric()
                    && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
            })
    })
}

fn is_tag(s: &str) -> bool {
    let b = s.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b.iter().all(|c| word(*c) || *c == b'.' || *c == b'-')
}

fn is_digest(s: &str) -> bool {
    let Some((alg, hex)) = s.split_once(':') else {
        return false;
    };
    let alg_ok = alg.split(['-', '_', '+', '.']).all(|p| {
        let b = p.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(|c| c.is_ascii_alphanumeric())
    });
    alg_ok && hex.len() >= 32 && hex.bytes().all(|c| c.is_ascii_hexdigit())
}

impl ImageRef {
    /// Docker's `ParseNormalizedNamed`.
    pub fn parse(s: &str) -> Result<ImageRef, ReferenceError> {
        if s.len() == 64
            && s.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        {
            return Err(ReferenceError::HexName(s.to_owned()));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                if !is_digest(d) {
                    return Err(ReferenceError::Format);
                }
                (r, Some(d.to_owned()))
            }
            None => (s, None),
        };
        // A tag follows the last `:` after the last `/` (a `:` before it is a port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let t = &rest[last_slash + i + 1..];
                if !is_tag(t) {
                    return Err(ReferenceError::Format);
                }
                (&rest[..last_slash + i], Some(t.to_owned()))
            }
            None => (rest, None),
        };
        let (domain, path) = match name.split_once('/') {
            Some((first, remainder))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.to_lowercase() != first =>
            {
                (first.to_owned(), remainder.to_owned())
            }
            _ => (DOCKER_HUB.to_owned(), name.to_owned()),
        };
        let domain = if domain == "index.docker.io" {
            DOCKER_HUB.to_owned()
        } else {
            domain
        };
        let path = if domain == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        if path.to_lowercase() != path {
            return Err(ReferenceError::Uppercase(path));
        }
        if !is_domain(&domain) || !path.split('/').all(is_path_component) {
            return Err(ReferenceError::Format);
        }
        if domain.len() + 1 + path.len() > 255 {
            return Err(ReferenceError::TooLong);
        }
        Ok(ImageRef {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// The full repository name, `docker.io/library/alpine`: the image's GUN.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// Whether the image is on Docker Hub (its trust server is notary.docker.io).
    pub fn is_docker_hub(&self) -> bool {
        self.domain == DOCKER_HUB
    }

    /// The reference with its tag (`name:tag`), or the name.
    pub fn with_tag(&self) -> String {
        match &self.tag {
            Some(t) => format!("{}:{t}", self.name()),
            None => self.name(),
        }
    }

    /// The host the registry is reached at (`registry-1.docker.io` for Docker Hub).
    pub fn registry_host(&self) -> &str {
        if self.is_docker_hub() {
            "registry-1.docker.io"
        } else {
            &self.domain
        }
    }

    /// Whether the registry is this machine (`localhost`, 127.0.0.0/8, `::1`): plain HTTP is
    /// allowed to it, as Docker allows it.
    pub fn is_loopback(&self) -> bool {
        let host = match self.domain.strip_prefix('[') {
            Some(rest) => rest.split(']').next().unwrap_or(rest),
            None => self
                .domain
                .rsplit_once(':')
                .map_or(self.domain.as_str(), |(h, _)| h),
        };
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalize_as_docker_does() {
        for (input, name, tag) in [
            ("alpine", "docker.io/library/alpine", None),
            ("alpine:3.19", "docker.io/library/alpine", Some("3.19")),
            ("library/alpine", "docker.io/library/alpine", None),
            (
                "index.docker.io/library/alpine",
                "docker.io/library/alpine",
                None,
            ),
            ("user/app:v1", "docker.io/user/app", Some("v1")),
            (
                "127.0.0.1:5000/test/img:v1",
                "127.0.0.1:5000/test/img",
                Some("v1"),
            ),
            ("localhost/x", "localhost/x", None),
            ("localhost:5000/a/b/c", "localhost:5000/a/b/c", None),
            (
                "registry.example.com/team/app",
                "registry.example.com/team/app",
                None,
            ),
            ("[::1]:5000/img:latest", "[::1]:5000/img", Some("latest")),
            (
                "a.b/x__y.z-w---v:T_1.2-3",
                "a.b/x__y.z-w---v",
                Some("T_1.2-3"),
            ),
        ] {
            let r = ImageRef::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.name(), name, "{input}");
            assert_eq!(r.tag.as_deref(), tag, "{input}");
        }
        let d = format!("sha256:{}", "ab".repeat(32));
        let r = ImageRef::parse(&format!("127.0.0.1:5000/img@{d}")).unwrap();
        assert_eq!((r.tag, r.digest.as_deref()), (None, Some(d.as_str())));
        assert!(ImageRef::parse("127.0.0.1:5000/img").unwrap().is_loopback());
        assert!(!ImageRef::parse("example.com/img").unwrap().is_loopback());
    }

    #[test]
    fn bad_names_are_refused_in_dockers_words() {
        assert_eq!(
            ImageRef::parse("Alpine").unwrap_err().to_string(),
            "invalid reference format: repository name (library/Alpine) must be lowercase"
        );
        for bad in [
            "",
            "a//b",
            "-a",
            "a-",
            "a..b",
            "a:tag:more",
            "a:-tag",
            "a@sha256:short",
            "example.com:port/x",
            "x/y/",
            &format!("a:{}", "t".repeat(129)),
        ] {
            assert_eq!(ImageRef::parse(bad), Err(ReferenceError::Format), "{bad:?}");
        }
        assert!(matches!(
            ImageRef::parse(&"ab".repeat(32)),
            Err(ReferenceError::HexName(_))
        ));
    }
}
