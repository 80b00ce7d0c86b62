//! The gRPC services: Notary's `proto.KeyManagement` and `proto.Signer`, and the standard
//! `grpc.health.v1.Health` answering for the service names notary-server checks. Status codes
//! and messages follow `signer/api/rpc_api.go`.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::keys::{KeyError, KeyService};
use crate::proto;
use crate::proto::health::health_check_response::ServingStatus;
use crate::proto::health::{HealthCheckRequest, HealthCheckResponse};

pub use notarius_signer_api::HEALTH_SERVICES;

#[derive(Clone)]
pub struct Api {
    pub keys: Arc<KeyService>,
}

fn key_info(id: &str, algorithm: &str) -> Option<proto::KeyInfo> {
    Some(proto::KeyInfo {
        key_id: Some(proto::KeyId { id: id.to_owned() }),
        algorithm: Some(proto::Algorithm {
            algorithm: algorithm.to_owned(),
        }),
    })
}

fn lookup_status(key_id: &str, e: KeyError) -> Status {
    match e {
        KeyError::NotFound(_) => {
            tracing::warn!(key_id, "key not found");
            Status::not_found(format!("key {key_id} not found"))
        }
        KeyError::Decrypt { .. } => {
            tracing::error!(key_id, error = %e, "stored key refused");
            Status::internal(format!("key {key_id} cannot be used: it does not decrypt"))
        }
        other => {
            tracing::error!(key_id, error = %other, "key lookup failed");
            Status::internal(format!("getting key {key_id} failed"))
        }
    }
}

#[tonic::async_trait]
impl proto::key_management_server::KeyManagement for Api {
    async fn create_key(
        &self,
        request: Request<proto::CreateKeyRequest>,
    ) -> Result<Response<proto::PublicKey>, Status> {
        let req = request.into_inner();
        match self.keys.create(&req.gun, &req.role, &req.algorithm).await {
            Ok(k) => {
                tracing::info!(
                    key_id = k.id(),
                    gun = req.gun,
                    role = req.role,
                    "CreateKey: created"
                );
                Ok(Response::new(proto::PublicKey {
                    key_info: key_info(k.id(), k.keytype().as_str()),
                    public_key: k.public().to_vec(),
                }))
            }
            Err(KeyError::Algorithm(a)) => {
                tracing::error!(algorithm = a, "CreateKey: unsupported algorithm");
                Err(Status::unknown(format!(
                    "algorithm {a} not supported for create key"
                )))
            }
            Err(KeyError::Invalid(m)) => Err(Status::invalid_argument(m)),
            Err(e) => {
                tracing::error!(error = %e, "CreateKey: failed to create key");
                Err(Status::internal("Key creation failed"))
            }
        }
    }

    async fn delete_key(
        &self,
        request: Request<proto::KeyId>,
    ) -> Result<Response<proto::Void>, Status> {
        let id = request.into_inner().id;
        self.keys.delete(&id).await.map_err(|e| {
            tracing::error!(key_id = id, error = %e, "DeleteKey failed");
            Status::internal(format!("Key deletion for KeyID {id} failed"))
        })?;
        tracing::info!(key_id = id, "DeleteKey: deleted");
        Ok(Response::new(proto::Void {}))
    }

    async fn get_key_info(
        &self,
        request: Request<proto::KeyId>,
    ) -> Result<Response<proto::GetKeyInfoResponse>, Status> {
        let id = request.into_inner().id;
        let held = self.keys.held(&id).await.map_err(|e| match e {
            // Notary answers NotFound for every lookup failure here.
            KeyError::NotFound(_) | KeyError::Decrypt { .. } => {
                let _ = lookup_status(&id, e);
                Status::not_found(format!("key {id} not found"))
            }
            other => lookup_status(&id, other),
        })?;
        let pk = held.key.public_key();
        Ok(Response::new(proto::GetKeyInfoResponse {
            key_info: key_info(pk.id(), pk.keytype().as_str()),
            public_key: pk.public().to_vec(),
            role: held.role.clone(),
        }))
    }
}

#[tonic::async_trait]
impl proto::signer_server::Signer for Api {
    async fn sign(
        &self,
        request: Request<proto::SignatureRequest>,
    ) -> Result<Response<proto::Signature>, Status> {
        let req = request.into_inner();
        let id = req.key_id.map(|k| k.id).unwrap_or_default();
        let (held, method, sig) = self
            .keys
            .sign(&id, &req.content)
            .await
            .map_err(|e| lookup_status(&id, e))?;
        tracing::debug!(key_id = id, bytes = req.content.len(), "Sign: signed");
        let pk = held.key.public_key();
        Ok(Response::new(proto::Signature {
            key_info: key_info(pk.id(), pk.keytype().as_str()),
            algorithm: Some(proto::Algorithm { algorithm: method }),
            content: sig,
        }))
    }
}

#[tonic::async_trait]
impl proto::health::health_server::Health for Api {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        let name = request.into_inner().service;
        if !HEALTH_SERVICES.contains(&name.as_str()) {
            return Err(Status::not_found("unknown service"));
        }
        let status = match self.keys.store().health().await {
            Ok(()) => ServingStatus::Serving,
            Err(e) => {
                tracing::error!(error = %e, "health: key database not operational");
                ServingStatus::NotServing
            }
        };
        Ok(Response::new(HealthCheckResponse {
            status: status as i32,
        }))
    }
}
