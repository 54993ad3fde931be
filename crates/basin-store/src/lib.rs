//! basin-store
