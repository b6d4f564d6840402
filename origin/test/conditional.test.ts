import test from 'ava';
import { isNotModified, noneMatchHits, notModifiedSince, parseEntityTagList } from '../src/conditional.ts';

const validators = { etag: '"1-a-2b"', lastModified: new Date('2024-06-01T12:00:00Z') };
const at = (iso: string) => new Date(iso).toUTCString();

test('If-None-Match lists are split into entity tags, commas inside quotes included', (t) => {
  t.deepEqual(parseEntityTagList('"a", W/"b",  "c,d"'), ['"a"', 'W/"b"', '"c,d"']);
  t.deepEqual(parseEntityTagList('*'), ['*']);
  t.deepEqual(parseEntityTagList('garbage'), []);
});

test('If-None-Match uses weak comparison and honours *', (t) => {
  t.true(noneMatchHits('"x", "1-a-2b"', validators.etag));
  t.true(noneMatchHits('W/"1-a-2b"', validators.etag));
  t.true(noneMatchHits('*', validators.etag));
  t.false(noneMatchHits('"1-a-2c"', validators.etag));
  t.false(noneMatchHits('1-a-2b', validators.etag), 'an unquoted tag is not an entity tag');
});

test('If-Modified-Since compares whole seconds and ignores invalid dates', (t) => {
  t.true(notModifiedSince(at('2024-06-01T12:00:00Z'), validators.lastModified));
  t.true(notModifiedSince(at('2024-06-02T00:00:00Z'), validators.lastModified));
  t.false(notModifiedSince(at('2024-06-01T11:59:59Z'), validators.lastModified));
  t.false(notModifiedSince('yesterday-ish', validators.lastModified));
});

test('If-None-Match takes precedence over If-Modified-Since (RFC 9110 §13.2.2)', (t) => {
  const recent = at('2030-01-01T00:00:00Z');
  const old = at('2000-01-01T00:00:00Z');
  t.false(isNotModified('GET', { 'if-none-match': '"other"', 'if-modified-since': recent }, validators));
  t.true(isNotModified('GET', { 'if-none-match': validators.etag, 'if-modified-since': old }, validators));
  t.true(isNotModified('HEAD', { 'if-modified-since': recent }, validators));
  t.false(isNotModified('GET', {}, validators));
});

test('only GET and HEAD are answered 304', (t) => {
  t.false(isNotModified('POST', { 'if-none-match': validators.etag }, validators));
  t.false(isNotModified('DELETE', { 'if-modified-since': at('2030-01-01T00:00:00Z') }, validators));
});
