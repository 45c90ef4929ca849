//! The maths of the model as small `f64` functions: each documents its formula and a
//! reference, and is unit-tested against hand-computed or textbook values.
//!
//! Float policy: inputs are `f64`; results are compared in tests to 1e-9 unless a looser
//! bound is stated; reports print 6 decimals.

pub mod beta_binomial;
pub mod isotonic;
pub mod linalg;
pub mod logistic;
pub mod metrics;
