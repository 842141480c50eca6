import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic, wrapString } from './diagnostics.js';

test('wraps at 80 bytes between words and keeps long words whole', () => {
  const line = '\t* one authentication method must be specified, please reference your communicator documentation';
  assert.equal(
    wrapString(line, 80),
    '\t* one authentication method must be specified, please reference your\ncommunicator documentation',
  );
  const long = 'x'.repeat(90);
  assert.equal(wrapString(`a ${long} b`, 80), `a\n${long}\nb`);
  assert.equal(wrapString('a\nb', 80), 'a\nb');
});

test('formats the box with an empty summary like Packer', () => {
  assert.equal(
    formatDiagnostic({ severity: 'error', summary: '', detail: 'boom' }),
    'Error: \n\nboom\n\n',
  );
  assert.equal(formatDiagnostic({ summary: 'Interpolation error', detail: 'x' }), '???????: Interpolation error\n\nx\n\n');
  assert.equal(formatDiagnostic({ severity: 'warning', summary: 's', detail: '' }), 'Warning: s\n\n');
});
