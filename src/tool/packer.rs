//! Packer: argv builders and the `-machine-readable` parser (issue 2).
