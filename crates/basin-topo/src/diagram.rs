//! Persistence diagrams shared by every computation of the crate.

/// One bar of a persistence diagram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PersistencePair {
    /// Homology dimension of the class.
    pub dim: usize,
    /// Filtration value at which the class is born.
    pub birth: f64,
    /// Filtration value at which it dies; `f64::INFINITY` for an essential class.
    pub death: f64,
}

impl PersistencePair {
    /// `true` for a class that never dies.
    #[must_use]
    pub fn is_essential(&self) -> bool {
        self.death.is_infinite()
    }

    /// `death - birth` (infinite for an essential class).
    #[must_use]
    pub fn persistence(&self) -> f64 {
        self.death - self.birth
    }
}

/// A persistence diagram: the bars of every dimension up to `max_dim`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagram {
    /// All bars, in no particular order.
    pub pairs: Vec<PersistencePair>,
    /// The highest dimension computed (bars of higher dimension were not looked for).
    pub max_dim: usize,
}

impl Diagram {
    /// The bars of dimension `dim`.
    pub fn in_dim(&self, dim: usize) -> impl Iterator<Item = &PersistencePair> + '_ {
        self.pairs.iter().filter(move |p| p.dim == dim)
    }

    /// Number of bars of dimension `dim`, essential ones included.
    #[must_use]
    pub fn count(&self, dim: usize) -> usize {
        self.in_dim(dim).count()
    }
}
