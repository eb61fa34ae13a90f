//! sockframe over smoltcp TCP sockets (in progress).
#![no_std]
