// Preloaded into the cognito-local child (`node --import`), which has no shutdown logic of its own.
//
// Its files hold users and their passwords in clear: nobody else may read them.
//
// cognito-local saves its user pools with an async fs.writeFile, which truncates the file before
// writing: a process killed mid-write leaves an empty or half-written pool, and every user is gone.
// So on SIGTERM/SIGINT, or when the local cloud that started it disappears (the IPC channel closes,
// even if the parent was SIGKILLed), this exits only once no write is in flight.
import fs from 'node:fs';

process.umask(0o077);

type Callback = (...results: unknown[]) => void;
const patchable = fs as unknown as { writeFile: (...args: unknown[]) => void };
const writeFile = patchable.writeFile.bind(fs);

let pending = 0;
let stopping = false;

function exitWhenIdle(): void {
  if (stopping && pending === 0) process.exit(0);
}

patchable.writeFile = (...args: unknown[]) => {
  const callback = args.at(-1);
  if (typeof callback !== 'function') {
    writeFile(...args);
    return;
  }
  pending++;
  writeFile(...args.slice(0, -1), (...results: unknown[]) => {
    pending--;
    try {
      (callback as Callback)(...results);
    } finally {
      exitWhenIdle();
    }
  });
};

function stop(): void {
  stopping = true;
  exitWhenIdle();
  setTimeout(() => process.exit(0), 2_000).unref();
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
