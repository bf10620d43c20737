// Preloaded into the Azurite that openqio starts (`node --require`, see services/azurite.py): when the service dies,
// Azurite shuts down cleanly, saving its blob index, however the kernel tells it and whatever its output pipe does.
//
// Why: Azurite keeps its blob index in memory and saves it every 5 s and when it stops. The service starts it with
// a parent-death signal (SIGTERM), so a SIGKILL of the service makes Azurite stop and save. Two things killed it
// before the save, losing every container and blob since the last periodic save (acknowledged uploads; after the
// restart their jobs ended Failed InputDataLost):
// - a second SIGTERM: the kernel sends the parent-death signal again as the dying service's threads hand Azurite
//   on to the next one, and Azurite listens with `once`, so the second came with no listener and ended the process
//   at once (seen in 1 of 8 kills of a service, with the signals logged). A listener that stays makes the repeats
//   harmless; Azurite's own handler still runs its shutdown once. (A stuck shutdown is SIGKILLed by whoever stops
//   it: services/azurite.py, services/supervise.py.)
// - its "closing" log line, written to a pipe whose reader (the service) is gone: Node reports EPIPE as an 'error'
//   event on the stream, and an unhandled one ends the process. Output that cannot be written is dropped.
"use strict";

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {});
}
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err) => {
    if (!err || err.code !== "EPIPE") throw err;
  });
}
