//! `Sym`: the text of a label name or value, shared behind one thin pointer. A label pair of
//! two `Sym`s is 16 bytes where two `Arc<str>` were 32, which the head pays for every label
//! of every series (about 100 bytes a series). It clones by a reference count and compares,
//! orders and hashes as its text, so maps keyed by `Sym` are looked up with a `&str`.
//!
//! Uses std only.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// Shared label text; see the module doc.
#[derive(Clone, Default)]
pub struct Sym(Arc<Box<str>>);

impl Sym {
    pub fn new(s: &str) -> Self {
        Sym(Arc::new(Box::from(s)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether both are the same shared text (interned strings usually are).
    pub fn ptr_eq(a: &Sym, b: &Sym) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl Deref for Sym {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Sym {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Sym {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Sym {
    fn eq(&self, other: &Sym) -> bool {
        Sym::ptr_eq(self, other) || self.as_str() == other.as_str()
    }
}

impl Eq for Sym {}

impl PartialEq<str> for Sym {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Sym {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialOrd for Sym {
    fn partial_cmp(&self, other: &Sym) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Sym {
    fn cmp(&self, other: &Sym) -> Ordering {
        if Sym::ptr_eq(self, other) {
            Ordering::Equal
        } else {
            self.as_str().cmp(other.as_str())
        }
    }
}

impl Hash for Sym {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<&str> for Sym {
    fn from(s: &str) -> Self {
        Sym::new(s)
    }
}

impl From<&String> for Sym {
    fn from(s: &String) -> Self {
        Sym::new(s)
    }
}

impl From<String> for Sym {
    fn from(s: String) -> Self {
        Sym(Arc::new(s.into_boxed_str()))
    }
}

impl From<Box<str>> for Sym {
    fn from(s: Box<str>) -> Self {
        Sym(Arc::new(s))
    }
}

impl From<&Sym> for Sym {
    fn from(s: &Sym) -> Self {
        s.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn compares_orders_and_hashes_as_its_text() {
        let a = Sym::new("job");
        let b = Sym::from(String::from("job"));
        assert_eq!(a, b);
        assert!(!Sym::ptr_eq(&a, &b));
        assert!(Sym::ptr_eq(&a, &a.clone()));
        assert_eq!(a.cmp(&Sym::new("jobs")), "job".cmp("jobs"));
        assert_eq!(Sym::new("b").cmp(&a), Ordering::Less);
        let mut m: HashMap<Sym, u32> = HashMap::new();
        m.insert(a.clone(), 1);
        assert_eq!(m.get("job"), Some(&1));
        assert_eq!(m.get(&b), Some(&1));
        assert_eq!(format!("{a}|{a:?}"), "job|\"job\"");
        assert_eq!(&*a, "job");
        assert_eq!(std::mem::size_of::<Sym>(), 8);
    }
}
