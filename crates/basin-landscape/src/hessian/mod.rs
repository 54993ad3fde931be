//! Curvature of the training loss at a trained net: Hessian-vector
//! products, top eigenvalues by Lanczos, trace by Hutchinson, spectral
//! density by stochastic Lanczos quadrature, whole-net and per layer.
//!
//! * [`hvp`] — the loss, its gradient and Hessian-vector products: double
//!   backward (default, exact) or central differences of back-propagated
//!   gradients (which is exact for which net, and the error bound, there).
//! * [`autodiff`] — the twice-differentiable forward pass in plain candle
//!   ops and how candle is made to keep gradients differentiable.
//! * [`lanczos`] — Lanczos with full reorthogonalisation: Ritz values,
//!   residual bounds and the convergence trace of the top eigenvalue.
//! * [`estimators`] — Hutchinson's trace with a confidence interval, SLQ
//!   density, and [`estimators::analyze`], which runs them all.

pub mod autodiff;
pub mod estimators;
pub mod hvp;
pub mod lanczos;
