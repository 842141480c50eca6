import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatGoTime } from './go-time.js';
import { strftime } from './strftime.js';

// 1795831906 = Sat 2026-11-28 02:11:46 UTC; expectations recorded from packer 1.6.6 at that instant.
const t = new Date(1795831906 * 1000 + 811);

describe('formatGoTime (Go reference layouts, UTC)', () => {
  const cases: [string, string][] = [
    ['Mon Jan _2 15:04:05.000 MST -0700 2006 PM', 'Sat Nov 28 02:11:46.811 UTC +0000 2026 AM'],
    ['2006-01-02T15:04:05Z07:00', '2026-11-28T02:11:46Z'],
    ['Monday January 2 3:4:5 pm 06 __2 002', 'Saturday November 28 2:11:46 am 26 332 332'],
    [
      '_2006 Jan2 Janx Monx MSTx 1 01 .9 ,999 .0 -07:00:00 Z070000 Z07 -07 Z07:00:00 15h04m',
      '_2026 Nov28 Janx Monx UTCx 11 11 .8 ,811 .8 +00:00:00 Z Z +00 Z 02h11m',
    ],
    ['05.000x .5 2.006 x01y', '46.811x .46 28.026 x11y'],
    ['', ''],
    ['PMpm Pm', 'AMam Pm'],
    ['.00000', '.81100'],
  ];
  for (const [layout, want] of cases)
    it(JSON.stringify(layout), () => assert.equal(formatGoTime(t, layout), want));

  it('pads and switches to PM in the afternoon, day of year with _2/__2', () => {
    const d = new Date(Date.UTC(2021, 0, 5, 13, 7, 9, 40));
    assert.equal(formatGoTime(d, '3:04 PM _2 __2 002 .999 .000'), '1:07 PM  5   5 005 .04 .040');
    assert.equal(formatGoTime(new Date(Date.UTC(2021, 0, 5, 0, 0, 0, 0)), '03 3 .999'), '12 12 ');
  });
});

describe('strftime (jehiah/go-strftime as Packer uses it)', () => {
  it('converts the supported specifiers', () => {
    assert.equal(
      strftime(t, '%Y-%m-%dT%H:%M:%S%L %a %A %b %B %I %p %y %z %Z %% %q %'),
      '2026-11-28T02:11:46.811 Sat Saturday Nov November 02 AM 26 +0000 UTC % %q %',
    );
  });
  it('copies unsupported specifiers literally', () => {
    assert.equal(strftime(t, '%c|%C|%D|%e|%f|%F|%j|%k|%s|%T|%u'), '%c|%C|%D|%e|%f|%F|%j|%k|%s|%T|%u');
  });
  it('keeps plain text and a trailing lone %', () => {
    assert.equal(strftime(t, 'day %d%'), 'day 28%');
    assert.equal(strftime(t, ''), '');
  });
});
