// Content-Location path check (RFC 6968 §5.3.3; SPEC-NOTES §7 row 29): every rejected form and
// the accepted ones.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeContentLocation, safeRelativePath } from '../../../src/wire/index.js';
import { expectCode } from './helpers.js';

describe('Content-Location → safe relative path', () => {
  it.each([
    ['example_1.txt', 'example_1.txt'],
    ['dir/sub/file.bin', 'dir/sub/file.bin'],
    ['file:dir/a.txt', 'dir/a.txt'],
    ['FILE:a', 'a'],
    ['my%20file.txt', 'my file.txt'],
    ['%C3%A9t%C3%A9/x', 'été/x'],
    ['a..b/.hidden/..c', 'a..b/.hidden/..c'],
    ['caf\u00e9.txt', 'caf\u00e9.txt'],
  ])('accepts %j as %j', (loc, path) => {
    expect(safeRelativePath(loc)).toBe(path);
  });

  it.each([
    ['empty', ''],
    ['absolute path', '/etc/passwd'],
    ['absolute file URI', 'file:///etc/passwd'],
    ['file URI with a host', 'file://host/x'],
    ['file: with nothing after it', 'file:'],
    ['parent segment', '../x'],
    ['parent segment inside', 'a/../../x'],
    ['parent segment at the end', 'a/..'],
    ['encoded parent segment', '%2e%2e/x'],
    ['encoded slash building a parent segment', 'a%2F..%2Fx'],
    ['dot segment', './x'],
    ['empty segment', 'a//b'],
    ['trailing slash', 'a/'],
    ['NUL', 'a\u0000b'],
    ['encoded NUL', 'a%00b'],
    ['control character', 'a\u001bb'],
    ['encoded newline', 'a%0Ab'],
    ['C1 control', 'a\u0085b'],
    ['backslash', 'a\\b'],
    ['encoded backslash', '..%5Cx'],
    ['drive letter', 'C:/Windows/x'],
    ['drive letter without slash', 'c:x'],
    ['encoded drive letter', '%43%3A/x'],
    ['drive letter after file:', 'file:C:/x'],
    ['http scheme', 'http://example.com/x'],
    ['data scheme', 'data:text/plain,hi'],
    ['query', 'a?b=c'],
    ['fragment', 'a#b'],
    ['bad percent escape', 'a%zz'],
    ['truncated percent escape', 'a%4'],
    ['percent escape that is not UTF-8', 'a%ff'],
    ['segment over 255 bytes', 'a'.repeat(256)],
    ['path over 4096 bytes', Array.from({ length: 20 }, () => 'b'.repeat(250)).join('/')],
  ])('rejects %s (FCAST_PATH)', (_why, loc) => {
    expectCode(() => safeRelativePath(loc), 'FCAST_PATH');
  });

  it('encodeContentLocation round-trips any safe relative path (property)', () => {
    const segment = fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }).filter((s) => !/[\u0000-\u001f\u007f-\u009f\\/]/.test(s) && s !== '.' && s !== '..' && !/^[A-Za-z]:/.test(s));
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), (segs) => {
        const path = segs.join('/');
        expect(safeRelativePath(encodeContentLocation(path))).toBe(path);
      }),
    );
    expectCode(() => encodeContentLocation('../x'), 'WIRE_VALUE');
    expectCode(() => encodeContentLocation('a/\ud800'), 'WIRE_VALUE');
  });
});
