//! Desktop server and client for sockframe (in progress).
