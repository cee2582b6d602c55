//! The russh transport (issue 3).
