// Package docs holds the tests that keep the project's documents true: the README's
// Go snippets compile, and every example docs/SEEDS.md links to exists. It has no
// code of its own.
package docs
