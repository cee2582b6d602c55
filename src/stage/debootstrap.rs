//! The debootstrap builder: a disk built natively, then booted by Packer (issue 2).
