// The shared FEC compliance suite over every scheme and codec path.
import { describe, it } from 'vitest';
import { complianceCases } from '../../../codecs/compliance.js';
import { ldpcStaircase, noCode } from '../../../codecs/index.js';
import { nativeCodec } from '../../../codecs/ldpc-staircase/native-code.js';

describe('FEC compliance: Compact No-Code', () => {
  for (const c of complianceCases(noCode)) it(c.name, () => c.run());
});

describe('FEC compliance: LDPC-Staircase, TypeScript codec', () => {
  for (const c of complianceCases(ldpcStaircase, { encoder: { native: false }, decoder: { native: false } })) it(c.name, () => c.run());
});

describe.skipIf(nativeCodec() === undefined)('FEC compliance: LDPC-Staircase, native codec', () => {
  for (const c of complianceCases(ldpcStaircase, { encoder: { native: true }, decoder: { native: true }, seed: 7 })) it(c.name, () => c.run());
});
