//! Tests of `windows`: range functions over windows holding native histograms.

use super::*;
