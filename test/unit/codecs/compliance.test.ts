// The shared FEC compliance suite over every scheme and executor.
import { describe, it } from 'vitest';
import { complianceCases } from '../../../codecs/compliance.js';
import { ldpcStaircase, noCode } from '../../../codecs/index.js';
import { nativeExecutor } from '../../../codecs/ldpc-staircase/native-executor.js';

describe('FEC compliance: Compact No-Code', () => {
  for (const c of complianceCases(noCode)) it(c.name, () => c.run());
});

describe('FEC compliance: LDPC-Staircase, TypeScript executor', () => {
  for (const c of complianceCases(ldpcStaircase, { encoder: { native: false }, decoder: { native: false } })) it(c.name, () => c.run());
});

describe.skipIf(nativeExecutor() === undefined)('FEC compliance: LDPC-Staircase, native executor', () => {
  for (const c of complianceCases(ldpcStaircase, { encoder: { native: true }, decoder: { native: true }, seed: 7 })) it(c.name, () => c.run());
});
