// Package contract checks that every part of Topoflow agrees with the
// catalog's action contracts: compiled plans use only declared inputs with
// the declared types and read only declared outputs, and implementations
// return only declared outputs ([CheckOutputs], applied to the test
// stacks' workers).
package contract
