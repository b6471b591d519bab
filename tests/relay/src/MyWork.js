// The practitioner's own lists: children and tasks as Relay pagination fragments on Query,
// paged forwards and backwards, and any record refetched by id alone.
import { graphql } from "react-relay";

export const myWorkQuery = graphql`
  query MyWorkQuery {
    ...MyWork_children
    ...MyWork_tasks
  }
`;

export const childrenFragment = graphql`
  fragment MyWork_children on Query
  @refetchable(queryName: "MyWorkChildrenPaginationQuery")
  @argumentDefinitions(
    first: { type: "Int", defaultValue: 20 }
    after: { type: "String" }
    last: { type: "Int" }
    before: { type: "String" }
  ) {
    myChildren(first: $first, after: $after, last: $last, before: $before)
      @connection(key: "MyWork_myChildren") {
      edges {
        node {
          id
          givenName
          familyName
          dateOfBirth
        }
      }
    }
  }
`;

export const tasksFragment = graphql`
  fragment MyWork_tasks on Query
  @refetchable(queryName: "MyWorkTasksPaginationQuery")
  @argumentDefinitions(
    first: { type: "Int", defaultValue: 20 }
    after: { type: "String" }
  ) {
    myTasks(first: $first, after: $after) @connection(key: "MyWork_myTasks") {
      edges {
        node {
          id
          title
          dueOn
          status
          child {
            id
            givenName
          }
        }
      }
    }
  }
`;

export const nodeQuery = graphql`
  query MyWorkNodeQuery($id: ID!) {
    node(id: $id) {
      __typename
      id
      ... on Task {
        title
        status
      }
      ... on Practitioner {
        displayName
      }
    }
  }
`;
