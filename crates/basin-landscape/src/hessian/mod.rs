//! Curvature of the training loss at a trained net: Hessian-vector
//! products, top eigenvalues by Lanczos, trace by Hutchinson, spectral
//! density by stochastic Lanczos quadrature, whole-net and per layer.
//!
//! * [`hvp`] — the loss, its gradient and Hessian-vector products (central
//!   differences of back-propagated gradients; why, and the error bound, there).
//! * [`lanczos`] — Lanczos with full reorthogonalisation: Ritz values,
//!   residual bounds and the convergence trace of the top eigenvalue.
//! * [`estimators`] — Hutchinson's trace with a confidence interval, SLQ
//!   density, and [`estimators::analyze`], which runs them all.

pub mod estimators;
pub mod hvp;
pub mod lanczos;
