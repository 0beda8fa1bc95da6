//! The new side's records of one listed kind, held in a temporary file while the old side's
//! are read past them: in memory, only each record's place in the file, by id.
//!
//! A verification reads one side whole and the other page by page; held in memory, the whole
//! side would grow with the account (a million tickets are gigabytes). On disk, what stays in
//! memory is an index of a few dozen bytes a record, and a record is read back when its
//! counterpart comes by.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read as _, Seek as _, SeekFrom, Write as _};

use cutover_model::{Observed, PlatformId};

use crate::error::EngineError;

/// Records written to a temporary file (deleted when dropped), found again by id.
#[derive(Debug)]
pub(super) struct Held {
    /// Written until [`Held::finish`], then read.
    writer: Option<BufWriter<File>>,
    reader: Option<File>,
    /// Where each record is in the file, in the order they were read: offset and length.
    places: Vec<(u64, u32)>,
    /// Whether each record has been compared with its counterpart, by the same position.
    seen: Vec<bool>,
    /// The position of each record in `places`, by id.
    by_id: HashMap<PlatformId, u32>,
    end: u64,
}

fn spill(error: impl Into<std::io::Error>) -> EngineError {
    EngineError::Spill(error.into())
}

impl Held {
    /// An empty holder over a new temporary file.
    pub(super) fn new() -> Result<Self, EngineError> {
        let file = tempfile::tempfile().map_err(spill)?;
        Ok(Held {
            writer: Some(BufWriter::new(file)),
            reader: None,
            places: Vec::new(),
            seen: Vec::new(),
            by_id: HashMap::new(),
            end: 0,
        })
    }

    /// How many records are held.
    pub(super) fn len(&self) -> usize {
        self.places.len()
    }

    /// Whether a record of this id is held.
    pub(super) fn contains(&self, id: &PlatformId) -> bool {
        self.by_id.contains_key(id)
    }

    /// Holds a record (a second record of the same id replaces the first, as a later page of a
    /// change feed shows the newer version).
    pub(super) fn push(&mut self, observed: &Observed) -> Result<(), EngineError> {
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| spill(std::io::Error::other("written after it was read")))?;
        let bytes = serde_json::to_vec(observed).map_err(spill)?;
        writer.write_all(&bytes).map_err(spill)?;
        let len = u32::try_from(bytes.len()).map_err(|_| {
            spill(std::io::Error::other(format!(
                "{} {} is over 4 GiB as JSON",
                observed.record.kind(),
                observed.id
            )))
        })?;
        let position = self.places.len() as u32;
        match self.by_id.get(&observed.id) {
            Some(&earlier) => self.places[earlier as usize] = (self.end, len),
            None => {
                self.places.push((self.end, len));
                self.seen.push(false);
                self.by_id.insert(observed.id.clone(), position);
            }
        }
        self.end += u64::from(len);
        Ok(())
    }

    /// Ends the writing: from here on records are read back.
    pub(super) fn finish(&mut self) -> Result<(), EngineError> {
        if let Some(writer) = self.writer.take() {
            self.reader = Some(writer.into_inner().map_err(|e| spill(e.into_error()))?);
        }
        Ok(())
    }

    /// The record of an id, marked as compared; `None` when none is held.
    pub(super) fn take(&mut self, id: &PlatformId) -> Result<Option<Observed>, EngineError> {
        let Some(&position) = self.by_id.get(id) else {
            return Ok(None);
        };
        self.seen[position as usize] = true;
        self.read(position as usize).map(Some)
    }

    /// The records not compared with a counterpart, in the order they were read.
    pub(super) fn unseen(&mut self) -> impl Iterator<Item = Result<Observed, EngineError>> + '_ {
        let positions: Vec<usize> = (0..self.places.len()).filter(|p| !self.seen[*p]).collect();
        positions.into_iter().map(|p| self.read(p))
    }

    fn read(&mut self, position: usize) -> Result<Observed, EngineError> {
        self.finish()?;
        let (offset, len) = self.places[position];
        let file = self
            .reader
            .as_mut()
            .ok_or_else(|| spill(std::io::Error::other("read before it was written")))?;
        file.seek(SeekFrom::Start(offset)).map_err(spill)?;
        let mut bytes = vec![0; len as usize];
        file.read_exact(&mut bytes).map_err(spill)?;
        serde_json::from_slice(&bytes).map_err(spill)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test data built here")]

    use std::collections::BTreeSet;

    use cutover_model::Side;
    use cutover_model::records::{Organization, Record};

    use super::*;

    fn organization(id: u64, name: &str) -> Observed {
        Observed {
            side: Side::New,
            id: PlatformId::from(id),
            updated_at: None,
            record: Record::Organization(Organization {
                name: name.into(),
                domains: BTreeSet::new(),
                details: None,
                notes: None,
                tags: BTreeSet::new(),
                custom_fields: [("score".to_owned(), serde_json::json!(0.1 + 0.2))].into(),
            }),
            origin: None,
        }
    }

    #[test]
    fn records_come_back_as_they_went_in_and_the_rest_are_unseen() {
        let mut held = Held::new().unwrap();
        for (id, name) in [
            (1, "Acme"),
            (2, "Globex"),
            (3, "Initech"),
            (2, "Globex Corp"),
        ] {
            held.push(&organization(id, name)).unwrap();
        }
        assert_eq!(held.len(), 3);
        assert_eq!(
            held.take(&PlatformId::from(1)).unwrap(),
            Some(organization(1, "Acme"))
        );
        assert_eq!(held.take(&PlatformId::from(9)).unwrap(), None);
        let unseen: Vec<Observed> = held.unseen().map(Result::unwrap).collect();
        assert_eq!(
            unseen,
            [organization(2, "Globex Corp"), organization(3, "Initech")]
        );
        assert!(held.push(&organization(4, "Umbrella")).is_err());
    }
}
