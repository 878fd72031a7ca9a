// Preloaded by bench/start-up.mjs (`node -r`): when a fcast process reaches each start-up step,
// in ms since its time origin, written as JSON to $FCAST_START_PROBE at exit. It only watches
// calls the start path makes anyway (bin/start.mjs reads, the vm compile, the digest's open, the
// native addon's dlopen); nothing in fcast knows about it.
const fs = require('node:fs');
const vm = require('node:vm');

const marks = [['preload', performance.now()]];
const mark = (name) => {
  if (!marks.some(([n]) => n === name)) marks.push([name, performance.now()]);
};

const readFileSync = fs.readFileSync;
fs.readFileSync = function (path, ...rest) {
  if (typeof path === 'string' && path.endsWith('index.json')) mark('bundleIndex');
  if (typeof path === 'string' && path.endsWith('.v8cache')) mark('cacheRead');
  return readFileSync.call(this, path, ...rest);
};
const openSync = fs.openSync;
fs.openSync = function (path, ...rest) {
  if (typeof path === 'string' && path === process.env.FCAST_START_FILE) mark('hashStart');
  return openSync.call(this, path, ...rest);
};
const runInThisContext = vm.Script.prototype.runInThisContext;
vm.Script.prototype.runInThisContext = function (...args) {
  mark('compiled');
  return runInThisContext.apply(this, args);
};
const dlopen = process.dlopen;
process.dlopen = function (...args) {
  mark('addon');
  return dlopen.apply(this, args);
};
process.on('exit', () => {
  fs.writeFileSync(process.env.FCAST_START_PROBE, JSON.stringify({ origin: performance.timeOrigin, marks }));
});
