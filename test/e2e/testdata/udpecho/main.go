// Command udpecho answers every UDP datagram with its -name, so that a
// client behind a UDP Service sees which endpoint answered (busybox has
// no UDP server).
package main

import (
	"flag"
	"log"
	"net"
)

func main() {
	port := flag.Int("port", 5353, "UDP port to answer on")
	name := flag.String("name", "", "the answer")
	flag.Parse()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{Port: *port})
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 1500)
	for {
		_, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			log.Fatal(err)
		}
		if _, err := conn.WriteToUDP([]byte(*name), from); err != nil {
			log.Print(err)
		}
	}
}
