//! Our CUE evaluator (being written).
