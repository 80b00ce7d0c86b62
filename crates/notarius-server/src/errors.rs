//! Notary's error envelope (docker/distribution `errcode`): the same codes, HTTP statuses and
//! messages, so clients that map them (Notary's and ours) keep working.

use serde_json::{Value, json};

/// Notary server's error codes (`server/errors/errors.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    NoStorage,
    NoFilename,
    InvalidRole,
    MalformedJson,
    Updating,
    Version,
    MetadataNotFound,
    InvalidUpdate,
    MalformedUpload,
    GenericNotFound,
    NoCryptoService,
    NoKeyAlgorithm,
    InvalidGun,
    InvalidParameters,
    Unknown,
    Unauthorized,
    /// Ours: a request body over the configured limit (Notary has no limit).
    TooLarge,
}

impl Code {
    pub fn name(self) -> &'static str {
        match self {
            Code::NoStorage => "NO_STORAGE",
            Code::NoFilename => "NO_FILENAME",
            Code::InvalidRole => "INVALID_ROLE",
            Code::MalformedJson => "MALFORMED_JSON",
            Code::Updating => "UPDATING",
            Code::Version => "VERSION",
            Code::MetadataNotFound => "METADATA_NOT_FOUND",
            Code::InvalidUpdate => "INVALID_UPDATE",
            Code::MalformedUpload => "MALFORMED_UPLOAD",
            Code::GenericNotFound => "GENERIC_NOT_FOUND",
            Code::NoCryptoService => "NO_CRYPTOSERVICE",
            Code::NoKeyAlgorithm => "NO_KEYALGORITHM",
            Code::InvalidGun => "INVALID_GUN",
            Code::InvalidParameters => "INVALID_PARAMETERS",
            Code::Unknown => "UNKNOWN",
            Code::Unauthorized => "UNAUTHORIZED",
            Code::TooLarge => "MALFORMED_UPLOAD",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            Code::NoStorage
            | Code::Updating
            | Code::NoCryptoService
            | Code::NoKeyAlgorithm
            | Code::Unknown => 500,
            Code::MetadataNotFound | Code::GenericNotFound => 404,
            Code::Unauthorized => 401,
            Code::TooLarge => 413,
            _ => 400,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Code::NoStorage => "The server is misconfigured and has no storage.",
            Code::NoFilename => "No file/role name provided.",
            Code::InvalidRole => "The role you are attempting to operate on is invalid.",
            Code::MalformedJson => "JSON sent by the client could not be parsed by the server",
            Code::Updating => "An error has occurred while updating the TUF repository.",
            Code::Version => "A newer version of metadata is already available.",
            Code::MetadataNotFound => "You have requested metadata that does not exist.",
            Code::InvalidUpdate => "Update sent by the client is invalid.",
            Code::MalformedUpload => "The body of your request is malformed.",
            Code::GenericNotFound => "You have requested a resource that does not exist.",
            Code::NoCryptoService => "The server does not have a signing service configured.",
            Code::NoKeyAlgorithm => "The server does not have a key algorithm configured.",
            Code::InvalidGun => "The server does not support actions on images of this name.",
            Code::InvalidParameters => "The parameters provided are not valid.",
            Code::Unknown => "unknown error",
            Code::Unauthorized => "authentication required",
            Code::TooLarge => "The body of your request is too large.",
        }
    }
}

/// An error answer: a code and an optional `detail`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: Code,
    pub detail: Option<Value>,
}

impl ApiError {
    pub fn new(code: Code) -> ApiError {
        ApiError { code, detail: None }
    }

    pub fn with_detail(code: Code, detail: impl Into<Value>) -> ApiError {
        ApiError {
            code,
            detail: Some(detail.into()),
        }
    }

    /// The JSON body: `{"errors":[{"code":…,"message":…,"detail":…}]}`, members in Go's field
    /// order.
    pub fn body(&self) -> Vec<u8> {
        let s = |v: &str| serde_json::to_string(v).expect("a string");
        let mut out = format!(
            "{{\"errors\":[{{\"code\":{},\"message\":{}",
            s(self.code.name()),
            s(self.code.message())
        );
        if let Some(d) = &self.detail {
            out.push_str(",\"detail\":");
            out.push_str(&serde_json::to_string(d).expect("plain JSON"));
        }
        // Go's json.Encoder ends with a newline.
        out.push_str("}]}\n");
        out.into_bytes()
    }
}

/// A failed update validation, serialised as Notary's `validation.SerializableError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validation {
    Validation(String),
    BadHierarchy { missing: String, msg: String },
    BadRoot(String),
    BadTargets(String),
    BadSnapshot(String),
}

impl Validation {
    pub fn detail(&self) -> Value {
        let (name, err) = match self {
            Validation::Validation(m) => ("ErrValidation", json!({ "Msg": m })),
            Validation::BadHierarchy { missing, msg } => {
                ("ErrBadHierarchy", json!({ "Missing": missing, "Msg": msg }))
            }
            Validation::BadRoot(m) => ("ErrBadRoot", json!({ "Msg": m })),
            Validation::BadTargets(m) => ("ErrBadTargets", json!({ "Msg": m })),
            Validation::BadSnapshot(m) => ("ErrBadSnapshot", json!({ "Msg": m })),
        };
        json!({ "Name": name, "Error": err })
    }

    pub fn into_api(self) -> ApiError {
        ApiError::with_detail(Code::InvalidUpdate, self.detail())
    }
}

impl std::fmt::Display for Validation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Validation::Validation(m) => write!(f, "An error occurred during validation: {m}"),
            Validation::BadHierarchy { msg, .. } => {
                write!(f, "Metadata hierarchy is incomplete: {msg}")
            }
            Validation::BadRoot(m) => write!(f, "The root metadata is invalid: {m}"),
            Validation::BadTargets(m) => write!(f, "The targets metadata is invalid: {m}"),
            Validation::BadSnapshot(m) => write!(f, "The snapshot metadata is invalid: {m}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_as_notary_writes_it() {
        let e = ApiError::new(Code::MetadataNotFound);
        assert_eq!(
            String::from_utf8(e.body()).unwrap(),
            "{\"errors\":[{\"code\":\"METADATA_NOT_FOUND\",\"message\":\"You have requested metadata that does not exist.\"}]}\n"
        );
        let v = Validation::BadHierarchy {
            missing: "snapshot".into(),
            msg: "m".into(),
        }
        .into_api();
        assert_eq!(v.code.status(), 400);
        assert_eq!(
            v.detail.unwrap(),
            json!({"Name":"ErrBadHierarchy","Error":{"Missing":"snapshot","Msg":"m"}})
        );
    }
}
