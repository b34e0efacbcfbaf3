#!/bin/bash
# TCP_CHECK: the server accepts a TCP connection. usage: tcp-check.sh HOST PORT
exec 3<>"/dev/tcp/$1/$2"
