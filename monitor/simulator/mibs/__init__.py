"""MIB texts of the simulated equipment, shipped as package data so that they install with the
package and can be compiled like any vendor MIB."""
