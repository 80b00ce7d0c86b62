//! Notary's signer API as both sides see it: the messages and services of `signer.proto`
//! (`proto.KeyManagement`, `proto.Signer`) and gRPC health, generated at build time by protox
//! (no system `protoc`), and a client that dials a signer over mutual TLS as notary-server
//! does. `notarius-signer` implements the services; `notarius-server` only calls them.

pub mod client;

/// The generated code.
pub mod proto {
    tonic::include_proto!("proto");
    pub mod health {
        tonic::include_proto!("grpc.health.v1");
    }
}

/// The health service names notary-server asks for (`notary.HealthCheckKeyManagement`,
/// `notary.HealthCheckSigner`); the empty name is the whole server, as in gRPC's own server.
pub const HEALTH_SERVICES: &[&str] = &[
    "",
    "grpc.health.v1.Health.KeyManagement",
    "grpc.health.v1.Health.Signer",
];
