//! The installer builder: Debian installer + preseed, driven by Packer (issue 2).
