//! basin-phate
