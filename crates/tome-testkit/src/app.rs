//! placeholder until the API exists
pub struct TestApp;
