//! `trust_service.type = "remote"`: a notary-signer (Notary's or notarius-signer) over gRPC with
//! mutual TLS, as notary-server uses it (`signer/client/signer_trust.go`): `CreateKey` for new
//! server-managed keys, `GetKeyInfo` to find keys, `Sign` for every signature, and the health
//! service for "Trust operational".
//!
//! Signing is synchronous in the TUF core ([`Signer::sign`]) and runs inside
//! `spawn_blocking`, so a remote key blocks on the captured runtime handle for its RPC.

use std::sync::Arc;
use std::time::Duration;

use notarius_signer_api::client::{self, HealthClient, KeyManagementClient, SignerClient};
use notarius_signer_api::proto;
use notarius_signer_api::proto::health::HealthCheckRequest;
use notarius_signer_api::proto::health::health_check_response::ServingStatus;
use notarius_tuf::keys::{KeyType, PublicKey};
use notarius_tuf::sign::Signer;
use tonic::transport::Channel;

use crate::config::TrustServiceSection;
use crate::signer::{BoxFuture, SharedSigner, SignerError, TrustService};

/// How long a health probe may take before the signer counts as down.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

pub struct RemoteSigner {
    channel: Channel,
    handle: tokio::runtime::Handle,
    addr: String,
}

fn unavailable(addr: &str, s: &tonic::Status) -> SignerError {
    let msg = if s.message().is_empty() {
        format!("{:?}", s.code())
    } else {
        s.message().to_owned()
    };
    SignerError::Unavailable(format!("notary-signer at {addr}: {msg}"))
}

/// The port as notary-server's config has it: a string, or a number.
fn port_string(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

impl RemoteSigner {
    /// A lazily connected client: start-up does not wait for the signer (nor does Notary's),
    /// each call dials again if the signer was down.
    pub fn new(
        ts: &TrustServiceSection,
        handle: tokio::runtime::Handle,
    ) -> Result<RemoteSigner, String> {
        let port = port_string(&ts.port);
        if ts.hostname.is_empty() || port.is_empty() {
            return Err("trust_service.hostname and trust_service.port are required for a remote trust service".into());
        }
        for (name, v) in [
            ("tls_ca_file", &ts.tls_ca_file),
            ("tls_client_cert", &ts.tls_client_cert),
            ("tls_client_key", &ts.tls_client_key),
        ] {
            if v.is_empty() {
                return Err(format!(
                    "trust_service.{name} is required: the signer is only reached over mutual TLS"
                ));
            }
        }
        let channel = client::channel(&client::SignerAddress {
            hostname: &ts.hostname,
            port: &port,
            ca: ts.tls_ca_file.as_ref(),
            client_cert: ts.tls_client_cert.as_ref(),
            client_key: ts.tls_client_key.as_ref(),
        })
        .map_err(|e| e.to_string())?;
        Ok(RemoteSigner {
            channel,
            handle,
            addr: format!("{}:{port}", ts.hostname),
        })
    }

    fn km(&self) -> KeyManagementClient {
        KeyManagementClient::new(self.channel.clone())
    }

    /// A key as the signer describes it, checked against the ID asked for.
    fn public_key(
        &self,
        info: Option<proto::KeyInfo>,
        public: Vec<u8>,
        want_id: Option<&str>,
    ) -> Result<PublicKey, SignerError> {
        let alg = info
            .and_then(|i| i.algorithm)
            .map(|a| a.algorithm)
            .unwrap_or_default();
        let key = PublicKey::new(KeyType::parse(&alg), public);
        if let Some(id) = want_id
            && key.id() != id
        {
            return Err(SignerError::Unavailable(format!(
                "notary-signer at {} answered for key {id} with key {}",
                self.addr,
                key.id()
            )));
        }
        Ok(key)
    }

    async fn key_info(&self, key_id: &str) -> Result<Option<PublicKey>, SignerError> {
        match self
            .km()
            .get_key_info(proto::KeyId {
                id: key_id.to_owned(),
            })
            .await
        {
            Ok(r) => {
                let r = r.into_inner();
                Ok(Some(self.public_key(
                    r.key_info,
                    r.public_key,
                    Some(key_id),
                )?))
            }
            Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(s) => Err(unavailable(&self.addr, &s)),
        }
    }
}

/// A key held by the signer: every signature is one `Sign` RPC.
struct RemoteKey {
    public: PublicKey,
    client: SignerClient,
    handle: tokio::runtime::Handle,
    addr: String,
}

impl Signer for RemoteKey {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, msg: &[u8]) -> notarius_tuf::Result<(String, Vec<u8>)> {
        let mut client = self.client.clone();
        let req = proto::SignatureRequest {
            key_id: Some(proto::KeyId {
                id: self.public.id().to_owned(),
            }),
            content: msg.to_vec(),
        };
        // Called from spawn_blocking (validation, re-signing): blocking on the runtime is allowed
        // there, and the RPC itself runs on the runtime's workers.
        let answer = self.handle.block_on(async move { client.sign(req).await });
        let sig = answer
            .map_err(|s| notarius_tuf::Error::Signing(unavailable(&self.addr, &s).to_string()))?;
        let sig = sig.into_inner();
        let method = sig.algorithm.map(|a| a.algorithm).unwrap_or_default();
        Ok((method, sig.content))
    }
}

impl TrustService for RemoteSigner {
    fn create<'a>(
        &'a self,
        gun: &'a str,
        role: &'a str,
        algorithm: &'a str,
    ) -> BoxFuture<'a, Result<PublicKey, SignerError>> {
        Box::pin(async move {
            let r = self
                .km()
                .create_key(proto::CreateKeyRequest {
                    algorithm: algorithm.to_owned(),
                    gun: gun.to_owned(),
                    role: role.to_owned(),
                })
                .await
                .map_err(|s| unavailable(&self.addr, &s))?
                .into_inner();
            self.public_key(r.key_info, r.public_key, None)
        })
    }

    fn get_key<'a>(
        &'a self,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<PublicKey>, SignerError>> {
        Box::pin(self.key_info(key_id))
    }

    fn signers<'a>(
        &'a self,
        keys: &'a [PublicKey],
    ) -> BoxFuture<'a, Result<Vec<SharedSigner>, SignerError>> {
        Box::pin(async move {
            let mut out: Vec<SharedSigner> = Vec::new();
            for k in keys {
                if let Some(public) = self.key_info(k.id()).await? {
                    out.push(Arc::new(RemoteKey {
                        public,
                        client: SignerClient::new(self.channel.clone()),
                        handle: self.handle.clone(),
                        addr: self.addr.clone(),
                    }));
                }
            }
            Ok(out)
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), SignerError>> {
        Box::pin(async move {
            for service in notarius_signer_api::HEALTH_SERVICES[1..].iter() {
                let mut hc = HealthClient::new(self.channel.clone());
                let mut req = tonic::Request::new(HealthCheckRequest {
                    service: (*service).to_owned(),
                });
                req.set_timeout(HEALTH_TIMEOUT);
                let r = tokio::time::timeout(HEALTH_TIMEOUT, hc.check(req))
                    .await
                    .map_err(|_| {
                        SignerError::Unavailable(format!(
                            "notary-signer at {}: no answer within {HEALTH_TIMEOUT:?}",
                            self.addr
                        ))
                    })?
                    .map_err(|s| unavailable(&self.addr, &s))?
                    .into_inner();
                if r.status != ServingStatus::Serving as i32 {
                    return Err(SignerError::Unavailable(format!(
                        "notary-signer at {}: {service} is not serving",
                        self.addr
                    )));
                }
            }
            Ok(())
        })
    }
}
