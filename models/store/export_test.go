package store

// Translate exposes translate to the store's tests, so they can show how a
// database error is mapped without a method that produces it.
var Translate = translate
