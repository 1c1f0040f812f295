//! Series labels in the database as ids of interned label pairs. The `label_pairs` table
//! (name, value, id; keyed by the pair, no rowid) holds each distinct pair once; a series row's
//! `labels` blob is a 0 byte then the uvarint ids of its pairs, in label order — a few bytes
//! where the pairs spelled out took ~90. Blobs written before (no leading 0 byte: label names
//! are never empty) hold each name and value as a uvarint length and its bytes, and are still
//! read. Pairs are never deleted (a series that goes leaves its pairs for the next one).
//! Loading shares one `Sym` per pair string among all the series that use it.
//!
//! Part of `persist` (the store's SQLite side); uses `varint`, `model`, rusqlite.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};

use super::varint::{put_uvarint, Reader};
#[cfg(test)]
use crate::model::{FxMap, Label};
use crate::model::{Labels, Sym};

/// The first byte of a blob of pair ids.
const PAIR_IDS: u8 = 0;

/// Schema of the pair table.
pub(super) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS label_pairs (
         name TEXT NOT NULL,
         value TEXT NOT NULL,
         id INTEGER NOT NULL,
         PRIMARY KEY (name, value)
     ) WITHOUT ROWID;";

/// Encodes labels as pair ids, adding the pairs the table lacks. `next_id` is the id the next
/// new pair gets (`None`: not known yet, read from the table); `cache` the pairs of this
/// transaction already looked up.
pub(super) fn encode(
    tx: &Connection,
    labels: &Labels,
    next_id: &mut Option<i64>,
    cache: &mut HashMap<(Sym, Sym), i64>,
) -> rusqlite::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(1 + labels.len() * 2);
    out.push(PAIR_IDS);
    for l in labels.iter() {
        let key = (l.name.clone(), l.value.clone());
        let id = match cache.get(&key) {
            Some(&id) => id,
            None => {
                let found: Option<i64> = tx
                    .prepare_cached("SELECT id FROM label_pairs WHERE name = ?1 AND value = ?2")?
                    .query_row(params![&*l.name, &*l.value], |r| r.get(0))
                    .optional()?;
                let id = match found {
                    Some(id) => id,
                    None => {
                        let id = match *next_id {
                            Some(id) => id,
                            None => tx.query_row(
                                "SELECT COALESCE(MAX(id), 0) + 1 FROM label_pairs",
                                [],
                                |r| r.get(0),
                            )?,
                        };
                        tx.prepare_cached(
                            "INSERT INTO label_pairs (name, value, id) VALUES (?1, ?2, ?3)",
                        )?
                        .execute(params![&*l.name, &*l.value, id])?;
                        *next_id = Some(id + 1);
                        id
                    }
                };
                cache.insert(key, id);
                id
            }
        };
        put_uvarint(&mut out, id as u64);
    }
    Ok(out)
}

/// Every label pair by id, for `decode`.
#[cfg(test)]
pub(super) fn load_pairs(conn: &Connection) -> rusqlite::Result<FxMap<u64, Label>> {
    let mut stmt = conn.prepare("SELECT id, name, value FROM label_pairs")?;
    let mut rows = stmt.query([])?;
    let mut out = FxMap::default();
    let mut names: HashMap<String, Sym> = HashMap::new();
    while let Some(r) = rows.next()? {
        let (id, name, value): (i64, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let name = names
            .entry(name)
            .or_insert_with_key(|n| Sym::new(n))
            .clone();
        out.insert(
            id as u64,
            Label {
                name,
                value: Sym::from(value),
            },
        );
    }
    Ok(out)
}

/// A series blob's labels as stored.
pub(super) enum Stored<'a> {
    /// The ids of its label pairs, in order.
    Ids(&'a [u64]),
    /// Its label pairs spelled out (the older form), read by [`spelled_pairs`].
    Spelled(&'a [u8]),
    /// It cannot be decoded.
    Damaged,
}

/// Reads a series blob: pair ids go into `ids` (cleared first).
pub(super) fn stored<'a>(b: &'a [u8], ids: &'a mut Vec<u64>) -> Stored<'a> {
    ids.clear();
    if b.first() != Some(&PAIR_IDS) {
        return Stored::Spelled(b);
    }
    let mut r = Reader::new(b, 1);
    while !r.done() {
        match r.uvarint() {
            Some(id) => ids.push(id),
            None => return Stored::Damaged,
        }
    }
    Stored::Ids(ids)
}

/// The label pairs of a blob in the spelled-out form; `None` if it is damaged. The strings are
/// the blob's.
pub(super) fn spelled_pairs(b: &[u8]) -> Option<Vec<(&str, &str)>> {
    let mut r = Reader::new(b, 0);
    let mut out = Vec::new();
    while !r.done() {
        out.push((r.str()?, r.str()?));
    }
    Some(out)
}

/// The labels of a series blob (either form); `None` if it is damaged or names a pair the
/// table lacks.
#[cfg(test)]
pub(super) fn decode(b: &[u8], pairs: &FxMap<u64, Label>) -> Option<Labels> {
    if b.first() != Some(&PAIR_IDS) {
        return decode_spelled(b);
    }
    let mut r = Reader::new(b, 1);
    let mut out: Vec<Label> = Vec::new();
    while !r.done() {
        out.push(pairs.get(&r.uvarint()?)?.clone());
    }
    let sorted = out.windows(2).all(|w| w[0].name < w[1].name);
    if sorted && out.iter().all(|l| !l.value.is_empty()) {
        Some(Labels::from_sorted(out))
    } else {
        Some(Labels::from_pairs(
            out.iter().map(|l| (&*l.name, &*l.value)),
        ))
    }
}

/// Labels spelled out, each name and value as a uvarint length and its bytes (the form
/// written before pair ids; tests write it to check it is still read).
#[cfg(test)]
pub(super) fn encode_spelled(l: &Labels) -> Vec<u8> {
    let mut b = Vec::with_capacity(l.len() * 16);
    for x in l.iter() {
        for s in [x.name.as_bytes(), x.value.as_bytes()] {
            put_uvarint(&mut b, s.len() as u64);
            b.extend_from_slice(s);
        }
    }
    b
}

#[cfg(test)]
fn decode_spelled(b: &[u8]) -> Option<Labels> {
    let mut r = Reader::new(b, 0);
    let mut pairs = Vec::new();
    while !r.done() {
        pairs.push((r.str()?, r.str()?));
    }
    Some(Labels::from_pairs(pairs))
}
