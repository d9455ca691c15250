#!/usr/bin/perl
# Writes a small MaxMind DB with the GeoLite2-ASN record layout, for tests.
#
#   make_test_mmdb.pl [--type DATABASE_TYPE] [--ip-version 4|6] OUTPUT.mmdb [INPUT...]
#
# Input lines (files named after OUTPUT, or stdin): "PREFIX ASN ORGANISATION...", where
# the organisation is the rest of the line; '#' starts a comment. --type writes another
# database_type (default GeoLite2-ASN), so tests can feed the sensor a non-ASN database.
use strict;
use warnings;

use Getopt::Long qw(GetOptions);
use MaxMind::DB::Writer::Tree;

my $type       = 'GeoLite2-ASN';
my $ip_version = 6;
GetOptions('type=s' => \$type, 'ip-version=i' => \$ip_version)
    && @ARGV >= 1
    or die "usage: $0 [--type TYPE] [--ip-version 4|6] OUTPUT.mmdb [INPUT...]\n";
die "$0: --ip-version must be 4 or 6\n" unless $ip_version == 4 || $ip_version == 6;
my $output = shift @ARGV;

my %field_types = (
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
);

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version    => $ip_version,
    record_size   => 24,
    database_type => $type,
    languages     => ['en'],
    description   => { en => 'dnswatch test ASN database' },
    # IPv4 data lives at ::/96; aliasing makes ::ffff:0:0/96 and 2002::/16 reach it, as
    # in the real GeoLite2 files, so IPv4 lookups through libmaxminddb find it.
    alias_ipv6_to_ipv4      => ($ip_version == 6 ? 1 : 0),
    remove_reserved_networks => 0,
    map_key_type_callback   => sub {
        my $t = $field_types{ $_[0] };
        die "$0: unexpected field $_[0]\n" unless $t;
        return $t;
    },
);

my $count = 0;
while (my $line = <>) {
    chomp $line;
    $line =~ s/#.*//;
    next if $line =~ /^\s*$/;
    my ($prefix, $asn, $org) = $line =~ /^\s*(\S+)\s+(\d+)\s+(.*?)\s*$/
        or die "$0: $ARGV:$.: expected \"PREFIX ASN ORGANISATION\"\n";
    $org =~ s/^"(.*)"$/$1/;
    $tree->insert_network($prefix, {
        autonomous_system_number       => $asn + 0,
        autonomous_system_organization => $org,
    });
    $count++;
} continue {
    close ARGV if eof; # line numbers restart in each input file
}
die "$0: no networks in the input\n" unless $count;

open my $fh, '>:raw', $output or die "$0: cannot write $output: $!\n";
$tree->write_tree($fh);
close $fh or die "$0: cannot write $output: $!\n";
