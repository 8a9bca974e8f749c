//! User groups as an identity provider pushes them (SCIM's Groups).
