//! Docker Content Trust for image tags (`notarius trust`): image references as Docker reads
//! them, the registry the tags live in, and the trust data (`targets/releases` and one
//! delegation per signer) as `docker trust` reads and writes it.

pub mod docker;
pub mod reference;
pub mod registry;
pub mod sign;
pub mod view;
