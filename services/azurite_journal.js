// Preloaded into the Azurite that openqio starts (`node --require`, see services/azurite.py): Azurite saves its blob
// index by appending what changed to a journal, instead of writing the whole index every 5 s.
//
// Why: Azurite keeps its container and blob metadata in LokiJS, saved to disk every 5 s (when anything changed) as
// one JSON file written whole. Each job leaves a container and two blobs there (about 2 KB), so every save cost time
// in proportion to the jobs ever run: with 40 000 jobs stored the file was 76 MB and a save 0.8 s of CPU, and a
// service taking one job a second had Azurite spend 305 ms of CPU per job against 25 ms on a fresh data directory
// (benchmarks/README.md, "Where the cost grew with the backlog, and what changed"); a few hundred thousand jobs in,
// the saves alone would keep a core busy.
//
// How: LokiJS's "incremental" adapter mode tells an adapter which documents changed since the last save (their
// `$loki` ids). This adapter appends those documents' current states (or their removal) to `<file>.journal`, one
// line per save, written and fdatasync'd. The whole index (LokiJS's own JSON, as before, plus a generation id) is
// written only when the journal has grown as large as it (and at the first save, and when a collection appears):
// written to `<file>~`, fsync'd and renamed, after which the journal starts again. So a save costs in proportion to
// what changed, and the whole index is rewritten once per doubling of what it holds.
// Loading reads the index, then the journal lines of the same generation in order: a line of another generation (a
// crash between writing a new index and emptying the journal) is ignored, and a torn last line (a crash mid-append)
// ends the journal there and is cut off. The replayed collections' indices are rebuilt. An index written by LokiJS's
// own adapter loads as before (it has no generation: any journal beside it is ignored and the next save writes a
// whole index), and the index this adapter writes is LokiJS's format, so an Azurite without the preload reads it
// (without the journal's last changes).
// A save that fails (a full disk) leaves both files as they were: the part of a journal line that fit is cut off, a
// partly written `<file>~` removed; LokiJS keeps the changed ids and saves them again at its next save. (A torn line
// left behind was worse than a lost save: every later line went with it at the next load.)
//
// Neither file is ever held as one string. V8's strings end at 2^29 - 24 characters (~512 MiB), and the index takes
// ~2 KB a job (a container and two blobs): LokiJS's own save, one JSON.stringify of the whole database, fails past
// ~270 000 jobs (RangeError: Invalid string length; Azure/Azurite#2539 is the same limit ending the official image),
// and reading the file back as one string fails the same way. So the index is written as LokiJS's JSON laid out in
// lines: the database without its documents, each collection's `"data":[` ending a line, then one document a line,
// then `]` starting the line that goes on with the rest; the pieces written about a MiB at a time. It is still one
// JSON text (LokiJS's own adapter reads it), and a load reads the index and the journal a chunk at a time, a line at
// a time, parsing each document alone (an index of the old single line loads as before).
//
// Only databases Azurite saves to disk with LokiJS's "fs" method are journaled; in-memory ones are left alone.
// Anything unexpected at installation leaves Azurite exactly as it was.
"use strict";

const fs = require("fs");
const path = require("path");
const crypto = require("crypto");

const INSTALLED = "openqio: Azurite saves its blob index by journal"; // services/azurite.py reads this line
const MIN_JOURNAL_BYTES = 1 << 20; // below this the journal is never compacted into a whole index
const DATA_OPEN = '"data":['; // the end of a line after which an index's documents follow, one a line
// How much a load reads at a time and a save writes at a time (tests make them small)
const sizes = { readChunkBytes: 1 << 24, writeBatchBytes: 1 << 20 };

// One write(2) may store only part of what it is given (a disk that fills mid-write stores what fits; only the next
// write fails, with ENOSPC), and fs.writeSync makes one: write until all of it is stored, or that error.
function writeAll(fd, text) {
  const data = Buffer.from(text);
  for (let done = 0; done < data.length;) done += fs.writeSync(fd, data, done, data.length - done);
}

// The lines of a file, read a chunk at a time: {text, end} per line (`end`: the byte offset just past its newline);
// a last line without its newline (torn) comes with `torn` set. A line is held whole, the file never.
function* linesOf(file) {
  const fd = fs.openSync(file, "r");
  try {
    const chunk = Buffer.allocUnsafe(sizes.readChunkBytes); // each line is decoded or copied before the next read
    let carried = Buffer.alloc(0);
    let offset = 0; // of carried's first byte
    for (;;) {
      const got = fs.readSync(fd, chunk, 0, chunk.length, null);
      const buffer = carried.length > 0 ? Buffer.concat([carried, chunk.subarray(0, got)]) : chunk.subarray(0, got);
      let start = 0;
      for (let nl = buffer.indexOf(10, start); nl >= 0; nl = buffer.indexOf(10, start)) {
        yield { text: buffer.toString("utf8", start, nl), end: offset + nl + 1 };
        start = nl + 1;
      }
      carried = Buffer.from(buffer.subarray(start));
      offset += start;
      if (got === 0) break;
    }
    if (carried.length > 0) yield { text: carried.toString("utf8"), end: offset + carried.length, torn: true };
  } finally {
    fs.closeSync(fd);
  }
}

// The whole index as LokiJS's JSON, laid out in lines (see the top of the file), written to `file` and fsync'd;
// the bytes written. `replacer` is LokiJS's serializeReplacer, applied to the documents as JSON.stringify would.
function writeIndexFile(file, db, replacer) {
  const marker = `openqio-documents-${crypto.randomUUID()}`;
  const documents = db.collections.map((c) => c.data);
  let text;
  try {
    db.collections.forEach((c, i) => { c.data = `${marker}-${i}`; });
    text = JSON.stringify(db, replacer);
  } finally {
    db.collections.forEach((c, i) => { c.data = documents[i]; });
  }
  let bytes = 0;
  try {
    const fd = fs.openSync(file, "w");
    try {
      const write = (piece) => {
        writeAll(fd, piece);
        bytes += Buffer.byteLength(piece);
      };
      let rest = text;
      documents.forEach((docs, i) => {
        const placeholder = JSON.stringify(`${marker}-${i}`);
        const at = rest.indexOf(placeholder);
        write(`${rest.slice(0, at)}[\n`);
        let batch = "";
        docs.forEach((doc, k) => {
          batch += `${JSON.stringify(doc, replacer)}${k + 1 < docs.length ? "," : ""}\n`;
          if (batch.length >= sizes.writeBatchBytes) {
            write(batch);
            batch = "";
          }
        });
        write(`${batch}]`);
        rest = rest.slice(at + placeholder.length);
      });
      write(rest);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    fs.rmSync(file, { force: true }); // the part that fit is not left taking space (it is never renamed into place)
    throw err;
  }
  return bytes;
}

// An index file (laid out in lines, or LokiJS's single line) parsed: the database object and the file's bytes.
function readIndexFile(file) {
  const structure = [];
  const data = []; // each collection's documents, in the order their arrays open
  let docs = null;
  let bytes = 0;
  for (const line of linesOf(file)) {
    bytes = line.end;
    const text = line.text;
    if (docs !== null && !text.startsWith("]")) {
      docs.push(JSON.parse(text.endsWith(",") ? text.slice(0, -1) : text));
      continue;
    }
    docs = null;
    structure.push(text);
    if (text.endsWith(DATA_OPEN)) {
      docs = [];
      data.push(docs);
    }
  }
  const db = JSON.parse(structure.join("\n"));
  if (data.length > 0) {
    const collections = db.collections || [];
    if (collections.length !== data.length) {
      throw new Error(`${file}: ${data.length} arrays of documents for ${collections.length} collections`);
    }
    collections.forEach((c, i) => { c.data = data[i]; });
  }
  return { db, bytes };
}

function syncDirectory(file) {
  try {
    const fd = fs.openSync(path.dirname(file), "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    // not every file system lets a directory be opened for fsync; the rename is still atomic
  }
}

// Apply journal records [collection, $loki, document or null] to a parsed LokiJS database (in place).
function replay(db, records, maxIds) {
  const touched = new Set();
  const byName = new Map(db.collections.map((c) => [c.name, c]));
  const positions = new Map();
  for (const [name, id, doc] of records) {
    const coll = byName.get(name);
    if (coll === undefined) continue; // (a collection is always in the index before its documents are journaled)
    let where = positions.get(name);
    if (where === undefined) {
      where = new Map(coll.data.map((d, i) => [d.$loki, i]));
      positions.set(name, where);
    }
    const at = where.get(id);
    if (doc === null) {
      if (at !== undefined) {
        coll.data[at] = null;
        where.delete(id);
      }
    } else if (at !== undefined) {
      coll.data[at] = doc;
    } else {
      where.set(id, coll.data.length);
      coll.data.push(doc);
    }
    touched.add(name);
  }
  for (const name of touched) {
    const coll = byName.get(name);
    coll.data = coll.data.filter((d) => d !== null).sort((a, b) => a.$loki - b.$loki);
  }
  for (const [name, maxId] of Object.entries(maxIds)) {
    const coll = byName.get(name);
    if (coll !== undefined && maxId > (coll.maxId || 0)) coll.maxId = maxId;
  }
  return touched;
}

class JournalAdapter {
  constructor() {
    this.mode = "incremental";
    this.generation = null; // of the whole index on disk; null: none written by this adapter yet
    this.collections = new Set(); // the collections that index holds
    this.indexBytes = 0;
    this.journalBytes = 0;
    this.written = 0; // bytes written by the last save (tests count them)
    this.db = undefined; // the database it saves (set by JournaledLoki)
  }

  loadDatabase(dbname, callback) {
    let db;
    try {
      db = this.load(dbname);
    } catch (err) {
      callback(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    callback(db);
  }

  load(dbname) {
    const journal = `${dbname}.journal`;
    let index;
    try {
      index = readIndexFile(dbname);
    } catch (err) {
      if (err.code !== "ENOENT") throw err;
      fs.rmSync(journal, { force: true }); // changes to an index that is not there
      return null;
    }
    const db = index.db;
    this.indexBytes = index.bytes;
    this.collections = new Set((db.collections || []).map((c) => c.name));
    this.generation = typeof db.openqioGeneration === "string" ? db.openqioGeneration : null;
    if (this.generation === null) {
      fs.rmSync(journal, { force: true }); // not this index's changes (written beside another one)
      return db;
    }
    const records = [];
    const maxIds = {};
    let good = 0; // bytes of whole, readable lines
    let cut = false; // a torn or unreadable line ends the journal there
    try {
      for (const line of linesOf(journal)) {
        let entry;
        try {
          entry = line.torn ? null : JSON.parse(line.text);
        } catch (err) {
          entry = null;
        }
        if (entry === null) {
          cut = true;
          break;
        }
        good = line.end;
        if (entry.g !== this.generation) continue;
        for (const record of entry.r) records.push(record);
        Object.assign(maxIds, entry.m);
      }
    } catch (err) {
      if (err.code !== "ENOENT") throw err;
    }
    this.journalBytes = good;
    if (cut) fs.truncateSync(journal, good);
    const touched = replay(db, records, maxIds);
    if (touched.size > 0) db.openqioReplayed = [...touched];
    return db;
  }

  saveDatabase(dbname, getLokiCopy, callback) {
    try {
      const view = this.changes(getLokiCopy);
      const names = view.collections.map((c) => c.name);
      if (this.generation === null || names.some((n) => !this.collections.has(n))
          || this.journalBytes >= Math.max(this.indexBytes, MIN_JOURNAL_BYTES)) {
        this.writeIndex(dbname, view);
      } else {
        this.append(dbname, view);
      }
    } catch (err) {
      callback(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    callback(null);
  }

  // What changed since the last save: LokiJS's getLokiCopy() hands the adapter a copy of the database (every document
  // reference copied, O(all documents)) and clears the changed ids. The save below runs to its end without yielding,
  // so it can read the live database instead: the copy LokiJS asks for is, for the duration of that call, a view of
  // the live collections holding the changed ids it is about to clear.
  changes(getLokiCopy) {
    const db = this.db;
    let view;
    db.copy = function changedView() {
      view = {
        collections: db.collections.map((c) => ({ name: c.name, dirtyIds: c.dirtyIds, maxId: c.maxId,
                                                  get: (id) => c.get(id) })),
        write: (file, generation) => { // (the changed ids are cleared by now: the index does not carry them)
          db.openqioGeneration = generation;
          return writeIndexFile(file, db, db.serializeReplacer);
        },
      };
      return view;
    };
    try {
      getLokiCopy();
    } finally {
      delete db.copy; // LokiJS's own copy() again
    }
    return view;
  }

  append(dbname, view) {
    const records = [];
    const maxIds = {};
    for (const coll of view.collections) {
      if (!coll.dirtyIds || coll.dirtyIds.length === 0) continue;
      maxIds[coll.name] = coll.maxId;
      for (const id of new Set(coll.dirtyIds)) {
        const doc = coll.get(id);
        records.push([coll.name, id, doc === null || doc === undefined ? null : doc]);
      }
    }
    this.written = 0;
    if (records.length === 0) return;
    const line = `${JSON.stringify({ g: this.generation, m: maxIds, r: records })}\n`;
    const fd = fs.openSync(`${dbname}.journal`, "a");
    try {
      const before = fs.fstatSync(fd).size;
      try {
        writeAll(fd, line);
        fs.fdatasyncSync(fd);
      } catch (err) {
        // Cut off the part of the line that fit (a full disk): a line after a torn one would be lost, as a load stops
        // at the first torn line. LokiJS keeps the changed ids of a failed save for the next one.
        fs.ftruncateSync(fd, before);
        throw err;
      }
    } finally {
      fs.closeSync(fd);
    }
    this.written = Buffer.byteLength(line);
    this.journalBytes += this.written;
  }

  writeIndex(dbname, view) {
    const generation = crypto.randomUUID();
    for (const coll of view.collections) coll.dirtyIds = [];
    const bytes = view.write(`${dbname}~`, generation);
    fs.renameSync(`${dbname}~`, dbname);
    // the new index is the one on disk: from here on, lines of the old generation are ignored
    this.generation = generation;
    this.collections = new Set(view.collections.map((c) => c.name));
    this.indexBytes = bytes;
    this.journalBytes = 0;
    this.written = this.indexBytes;
    syncDirectory(dbname);
    fs.rmSync(`${dbname}.journal`, { force: true });
  }
}

function journaled(Loki) {
  function JournaledLoki(filename, options) {
    if (options && options.persistenceMethod === "fs" && !options.adapter && typeof filename === "string") {
      const rest = Object.assign({}, options);
      delete rest.persistenceMethod;
      const adapter = new JournalAdapter();
      rest.adapter = adapter; // (LokiJS keeps it and sets the option to null)
      const db = new Loki(filename, rest);
      adapter.db = db;
      db.loadJSONObject = function loadReplayed(dbObject, loadOptions) {
        Loki.prototype.loadJSONObject.call(this, dbObject, loadOptions);
        for (const name of dbObject.openqioReplayed || []) {
          const coll = this.getCollection(name);
          if (coll) coll.ensureAllIndexes(true); // positions in the saved indices predate the replayed changes
        }
      };
      return db;
    }
    return new Loki(filename, options);
  }
  Object.assign(JournaledLoki, Loki); // LokiOps, Collection, persistence adapters, ...
  JournaledLoki.prototype = Loki.prototype;
  JournaledLoki.openqioJournaled = true;
  return JournaledLoki;
}

function install(main) {
  // Resolve LokiJS from Azurite's own location (argv[1] is Azurite's entry script), so the module replaced in the
  // require cache is the one Azurite's code loads, wherever npm placed it.
  const id = require.resolve("lokijs", { paths: [main] });
  const Loki = require(id);
  if (typeof Loki !== "function" || Loki.openqioJournaled || typeof Loki.prototype.loadJSONObject !== "function") {
    return false;
  }
  require.cache[id].exports = journaled(Loki);
  return true;
}

try {
  const main = process.argv[1] ? path.dirname(fs.realpathSync(process.argv[1])) : process.cwd();
  if (install(main)) console.log(INSTALLED);
} catch (err) {
  // never stop Azurite from starting: without the patch its saves only cost more
}

module.exports = { install, journaled, sizes };
