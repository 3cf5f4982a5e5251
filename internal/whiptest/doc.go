// Package whiptest is a WHIP/WHEP client built on pion for tests, and the media those tests
// publish; it is test support, imported only by _test files.
package whiptest
