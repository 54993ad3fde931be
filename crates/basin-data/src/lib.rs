//! basin-data
